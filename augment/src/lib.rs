//! # convkit-augment
//!
//! Data augmentation, knowing nothing of files or models.
//!
//! Per image, on the CPU, over u8 [`HwcImage`]s (each transform draws its randomness from the
//! `rng` it is given, so a loader that derives it from (seed, epoch, sample) is reproducible
//! whatever the number of threads):
//! - [`ImageDataGenerator`]: Keras' options (rotation, shifts, shear, zoom, flips, fill modes,
//!   brightness, channel shift) composed into one affine warp and one resample.
//! - [`ops`]: imgaug-style transforms (`Fliplr`, `Flipud`, `Crop`, `GaussianBlur`,
//!   `LinearContrast`, `AdditiveGaussianNoise`, `Multiply`, `Affine`) and the plant-seedlings
//!   background removal; [`pipeline`]: `Sequential`, `Sometimes`, `OneOf`, `SomeOf`;
//!   [`presets`]: the finance chapter's plant-seedlings pipeline and the imgaug README's.
//!
//! Batched, on the model's device, over NCHW float tensors: [`batched`] (the kernels behind
//! Keras' `RandomFlip`, `RandomRotation`, `RandomZoom`, `RandomTranslation`, `RandomContrast`).
#![warn(missing_docs)]
// Library code returns errors: no unwrap, expect or panic outside tests (each allow says why).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod affine_matrix;
pub mod augmenter;
pub mod batched;
pub mod error;
pub mod fast_rng;
pub mod fill_mode;
pub mod hwc_image;
pub mod image_data_generator;
pub mod ops;
pub mod pipeline;
pub mod presets;
pub mod warp;

pub use affine_matrix::Affine;
pub use augmenter::Augmenter;
pub use error::{Error, Result};
pub use fill_mode::FillMode;
pub use hwc_image::HwcImage;
pub use image_data_generator::{ImageDataGenerator, TransformParams};
pub use warp::{warp_affine, Interpolation};
