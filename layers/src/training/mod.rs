//! Keras' training API: [`compile`], [`fit`], [`evaluate`], [`predict`], with [`History`] and
//! per-epoch [`Logs`]. Free functions over `&mut dyn Model`; model types expose them as
//! methods.

mod compiled;
pub mod fit;
mod history;
mod logs;
mod predict;
mod progress;

pub use compiled::{compile, compile_outputs, Compiled, CompiledOutput, OutputLoss};
pub use fit::{evaluate, fit, fit_source, FitOptions, TrainingState, Validation};
pub use history::History;
pub use logs::Logs;
pub use predict::predict;
pub use progress::Verbosity;
