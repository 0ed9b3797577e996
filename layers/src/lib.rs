//! # convkit-layers
//!
//! Keras-style models on libtorch: layers, [`Sequential`], `summary()`, losses, metrics,
//! `compile`/`fit`/`evaluate`/`predict`, callbacks, and saving/loading.
//!
//! Tensors are NCHW; shapes given to layers and printed by summaries exclude the batch
//! dimension (`(None, 32, 26, 26)`), and parameter counts equal Keras'.
//!
//! # Example
//! ```no_run
//! use convkit_layers::prelude::*;
//! # fn main() -> convkit_layers::Result<()> {
//! let mut model = Sequential::new();
//! model.add(Conv2D::new(32, 3).activation(Activation::Relu).input_shape([1, 28, 28]))?;
//! model.add(MaxPooling2D::new(2))?;
//! model.add(Flatten::new())?;
//! model.add(Dense::new(10).activation(Activation::Softmax))?;
//! println!("{}", model.summary());
//! model.compile(RMSprop::default().build(), Loss::from_name("categorical_crossentropy").unwrap(), &[Metric::Accuracy])?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod activations;
pub mod applications;
pub mod callbacks;
pub mod config;
pub mod error;
pub mod fingerprint;
pub mod functional;
pub mod import;
pub mod initializers;
pub mod layer;
pub mod layers;
pub mod losses;
pub mod metrics;
pub mod model;
pub mod model_api;
pub mod padding;
pub mod regularizers;
pub mod saving;
pub mod sequential;
pub mod summary;
pub mod training;

pub use activations::Activation;
pub use error::{Error, Result};
pub use functional::{Functional, Graph, SubModel, SymbolicTensor};
pub use layer::{Layer, LayerBuilder, LayerCommon, Pair, Param};
pub use losses::Loss;
pub use metrics::Metric;
pub use model::Model;
pub use model_api::ModelApi;
pub use padding::Padding;
pub use sequential::Sequential;
pub use summary::Summary;

/// Everything needed to build and train a model.
pub mod prelude {
    pub use crate::activations::Activation;
    pub use crate::callbacks::*;
    pub use crate::functional::{Functional, Graph, IntoLayer, SubModel, SymbolicTensor};
    pub use crate::initializers::Initializer;
    pub use crate::layer::{Layer, LayerBuilder};
    pub use crate::layers::*;
    pub use crate::losses::Loss;
    pub use crate::metrics::Metric;
    pub use crate::model::Model;
    pub use crate::model_api::ModelApi;
    pub use crate::padding::Padding;
    pub use crate::regularizers::Regularizer;
    pub use crate::saving::{load_model, load_weights, save_model, save_weights};
    pub use crate::sequential::Sequential;
    pub use crate::training::{FitOptions, History, Logs, OutputLoss, Validation, Verbosity};
    pub use convkit_optim::{Adam, AdamW, Optimizer, RMSprop, UpdateRule, SGD};
}
