//! # convkit-layers
//!
//! Keras-style models on libtorch: layers, [`Sequential`] and functional models, `summary()`,
//! losses, metrics, `compile`/`fit`/`evaluate`/`predict`, callbacks, and saving/loading.
//!
//! Tensors are NCHW; shapes given to layers and printed by summaries exclude the batch
//! dimension (`(None, 32, 26, 26)`), and parameter counts equal Keras'.
//!
//! # Module map
//! | module | what |
//! |---|---|
//! | [`layers`] | the [`Layer`] trait and its saved form ([`layers::LayerConfig`], [`layers::SerializableLayer`]), the layer catalogue ([`layers::registry`]: class names to constructors; `register::<T>()` for your own layers), one file per layer, and their parts (activations, initializers, padding, regularizers, conv options) |
//! | [`models`] | the [`Model`] trait, Keras' model methods ([`ModelApi`]), [`Sequential`], the functional API ([`Graph`], [`Functional`], [`SubModel`]), `summary()` |
//! | [`training`] | `compile`, `fit` (one loop, its [`training::TrainingState`] and [`training::TrainingHook`]s), `evaluate`, `predict`, [`training::callbacks`], [`training::losses`], [`training::metrics`] |
//! | [`saving`] | model directories (`model.json`, safetensors weights, optimizer state), fingerprints, weight import from torchvision, efficientnet_pytorch and Keras names |
//! | [`applications`] | VGG16, Xception, EfficientNet-Lite0 with one [`applications::ApplicationConfig`], and the book's models |
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
//! model.compile("rmsprop", "categorical_crossentropy", ["accuracy"])?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]
// Library code returns errors: no unwrap, expect or panic outside tests (each allow says why).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod applications;
pub mod error;
pub mod layers;
pub mod mixed_precision;
pub mod models;
pub mod saving;
pub mod training;

pub use error::{Error, Result};
pub use layers::activations::Activation;
pub use layers::layer::{Layer, LayerBuilder, LayerCommon, Pair, Param};
pub use layers::padding::Padding;
pub use models::{
    Functional, Graph, Model, ModelApi, Sequential, SubModel, Summary, SymbolicTensor,
};
pub use training::losses::Loss;
pub use training::metrics::Metric;

/// Everything needed to build and train a model.
pub mod prelude {
    pub use crate::layers::activations::Activation;
    pub use crate::layers::initializers::Initializer;
    pub use crate::layers::layer::{Layer, LayerBuilder};
    pub use crate::layers::padding::Padding;
    pub use crate::layers::regularizers::Regularizer;
    pub use crate::layers::*;
    pub use crate::models::functional::{Functional, Graph, IntoLayer, SubModel, SymbolicTensor};
    pub use crate::models::model::Model;
    pub use crate::models::model_api::ModelApi;
    pub use crate::models::sequential::Sequential;
    pub use crate::saving::{
        load_model, load_model_info, load_weights, model_dir, save_model, save_model_with_info,
        save_weights, RUN_MODEL_DIR,
    };
    pub use crate::training::callbacks::*;
    pub use crate::training::losses::Loss;
    pub use crate::training::metrics::Metric;
    pub use crate::training::{
        ClassWeight, ClassificationReport, FitOptions, History, Logs, OutputLoss, Validation,
        Verbosity,
    };
    pub use convkit_optim::{Adam, AdamW, Optimizer, RMSprop, SGD};
}
