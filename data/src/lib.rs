//! # convkit-data
//!
//! Datasets that yield tensors and [`convkit_tensor::Batch`]es; this crate knows nothing of
//! models.
//!
//! - [`idx`]: the IDX format of MNIST, raw or gzip-compressed, with errors that name the file
//!   and the expected and actual sizes.
//! - [`mnist`]: the MNIST dataset: loading, [`to_categorical`], verified digests.
//! - [`dataset_split`]: `train/ validation/ test/` folders from an original dataset.
//! - [`download`]: fetching files from mirrors with an MD5 check, atomically.
//! - [`feature_cache`]: features computed once by a conv base, on disk in shards, streamed.
//! - [`image_folder`]: class folders of images, streamed in parallel with Keras' options and
//!   split rules.
//! - [`mnist_folder`]: MNIST digits exported as image files (offline folder datasets).
//! - [`numpy_random`]: numpy's legacy `RandomState` shuffle (for Keras' seeded splits).
#![warn(missing_docs)]
// Library code returns errors: no unwrap, expect or panic outside tests (each allow says why).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod dataset_split;
pub mod digit_scenes;
pub mod download;
pub mod error;
pub mod feature_cache;
pub mod idx;
pub mod image_file;
pub mod image_folder;
pub mod mnist;
pub mod mnist_folder;
pub mod numpy_random;
pub mod segmentation;

pub use error::{Error, Result};
pub use mnist::{to_categorical, Mnist};
