//! # convkit-data
//!
//! Datasets that yield tensors and [`convkit_tensor::Batch`]es; this crate knows nothing of
//! models.
//!
//! - [`idx`]: the IDX format of MNIST, raw or gzip-compressed, with errors that name the file
//!   and the expected and actual sizes.
//! - [`mnist`]: the MNIST dataset: loading, [`to_categorical`], verified digests.
//! - [`download`]: fetching files from mirrors with an MD5 check, atomically.
#![warn(missing_docs)]

pub mod download;
pub mod error;
pub mod idx;
pub mod mnist;

pub use error::{Error, Result};
pub use mnist::{to_categorical, Mnist};
