//! Models: the [`Model`] trait every network implements, Keras' model methods
//! ([`ModelApi`]), the [`Sequential`] stack, the [`functional`] graph API and `summary()`.

pub mod architecture;
pub mod functional;
pub mod model;
pub mod model_api;
pub mod sequential;
pub mod summary;

pub use architecture::model_from_architecture;
pub use functional::{Functional, Graph, IntoLayer, SubModel, SymbolicTensor};
pub use model::Model;
pub use model_api::ModelApi;
pub use sequential::Sequential;
pub use summary::Summary;
