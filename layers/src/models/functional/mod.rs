//! The functional API: [`Graph`] calls layers on [`SymbolicTensor`]s and yields a
//! [`Functional`] model; models nest as layers ([`ModelLayer`]); [`SubModel`] runs part of
//! a model with its weights.

mod architecture;
mod execution;
pub mod graph;
pub mod input_layer;
mod layer_order;
pub mod model;
pub mod nested;
mod node;
pub mod sub_model;
pub mod symbolic;

pub use graph::{Graph, LayerId};
pub use input_layer::InputLayer;
pub use model::Functional;
pub use nested::{IntoLayer, ModelLayer, NestedModelConfig};
pub use sub_model::SubModel;
pub use symbolic::SymbolicTensor;
