//! # convkit
//!
//! Keras-style deep learning for computer vision in Rust, on libtorch. This crate is the front
//! door: one [`prelude`] and one [`Error`] over the workspace's crates, so a program that
//! loads data, trains a model and draws pictures needs one `use` and one `?`.
//!
//! | crate | what | start reading at |
//! |---|---|---|
//! | [`tensor`] (`convkit-tensor`) | libtorch, devices, seeding, `Batch`/`BatchSource`, `.pth` reader | `Batch`, `BatchSource`, `Device` |
//! | [`optim`] (`convkit-optim`) | Keras' optimizers, schedules, clipping | `RMSprop`, `Adam`, `SGD` |
//! | [`layers`] (`convkit-layers`) | layers, `Sequential`/`Functional`, `compile`/`fit`, callbacks, saving, applications | `Sequential`, `Graph`, `ModelApi` |
//! | [`augment`] (`convkit-augment`) | per-image and batched augmentation | `ImageDataGenerator` |
//! | [`data`] (`convkit-data`) | MNIST, image folders, splits, feature caches | `Mnist`, `ImageFolder` |
//! | [`viz`] (`convkit-viz`) | curves, activations, filters, Grad-CAM | `gradcam`, `activations` |
//!
//! # Example
//! The book's MNIST convnet (listing 8.1 and 8.2 of *Deep Learning with Python*):
//! ```no_run
//! use convkit::prelude::*;
//!
//! fn main() -> convkit::Result<()> {
//!     let mnist = Mnist::load("datasets/mnist".as_ref())?;
//!     let x = mnist.train_images.to_kind(Kind::Float) / 255.0;
//!     let y = to_categorical(&mnist.train_labels, 10)?;
//!
//!     let mut model = Sequential::new();
//!     model.add(Conv2D::new(32, 3).activation(Activation::Relu).input_shape([1, 28, 28]))?;
//!     model.add(MaxPooling2D::new(2))?;
//!     model.add(Flatten::new())?;
//!     model.add(Dense::new(10).activation(Activation::Softmax))?;
//!     model.compile("rmsprop", "categorical_crossentropy", ["accuracy"])?;
//!     model.fit(&x, &y, FitOptions::new().epochs(5).batch_size(64))?;
//!     Ok(())
//! }
//! ```
#![warn(missing_docs)]
// Library code returns errors: no unwrap, expect or panic outside tests (each allow says why).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

// The README's Rust snippets compile as doctests of this crate.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

pub mod classifier_info;
pub mod keras_weights;
pub mod preprocess_mode;
pub mod pretrained;

pub use convkit_augment as augment;
pub use convkit_data as data;
pub use convkit_layers as layers;
pub use convkit_optim as optim;
pub use convkit_tensor as tensor;
pub use convkit_viz as viz;
/// The `image` crate, whose `RgbImage` the pictures are.
pub use image;

/// Any error of the workspace's crates, each kept whole (`source()` reaches its cause).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// From `convkit-tensor` (devices, batches, `.pth` files).
    #[error(transparent)]
    Tensor(#[from] convkit_tensor::Error),
    /// From `convkit-optim`.
    #[error(transparent)]
    Optim(#[from] convkit_optim::Error),
    /// From `convkit-layers` (layers, models, training, saving).
    #[error(transparent)]
    Layers(#[from] convkit_layers::Error),
    /// From `convkit-augment`.
    #[error(transparent)]
    Augment(#[from] convkit_augment::Error),
    /// From `convkit-data` (data sets and image folders, naming the file).
    #[error(transparent)]
    Data(#[from] convkit_data::Error),
    /// From `convkit-viz`.
    #[error(transparent)]
    Viz(#[from] convkit_viz::Error),
    /// libtorch raised an exception (a `Tensor::f_*` call).
    #[error("libtorch: {0}")]
    Torch(#[from] convkit_tensor::tch::TchError),
    /// A file could not be read or written.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// No pretrained application of that name.
    #[error("unknown application '{name}': expected {expected}")]
    UnknownApplication {
        /// The name given.
        name: String,
        /// The names there are.
        expected: &'static str,
    },
    /// No weights file for a pretrained base.
    #[error("{base} weights: {hint}")]
    WeightsNotFound {
        /// The application.
        base: &'static str,
        /// What was looked for, and where to get the file.
        hint: String,
    },
    /// A weights file of a format the base cannot read.
    #[error("{}: expected {expected}", path.display())]
    WeightsFormat {
        /// The file.
        path: std::path::PathBuf,
        /// What the base reads.
        expected: &'static str,
    },
    /// An invalid argument.
    #[error("{0}")]
    Invalid(String),
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a program of the book's listings uses: layers, models, training, optimizers,
/// data, augmentation, tensors.
pub mod prelude {
    pub use crate::pretrained::{Base, PretrainedBase};
    pub use crate::{Error, Result};
    pub use convkit_augment::ImageDataGenerator;
    pub use convkit_data::image_folder::{
        ColorMode, DecodedCache, ImageFolder, ImageFolderOptions, LabelMode, Subset,
    };
    pub use convkit_data::{to_categorical, Mnist};
    pub use convkit_layers::applications::{self, ApplicationConfig, Pooling};
    pub use convkit_layers::prelude::*;
    pub use convkit_tensor::tch::{no_grad, Device, Kind, Tensor};
    pub use convkit_tensor::{Batch, BatchSource, TensorBatches};
}
