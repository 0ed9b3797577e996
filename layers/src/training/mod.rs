//! Keras' training API: [`compile`], [`fit`], [`evaluate`], [`predict`], with [`History`] and
//! per-epoch [`Logs`], the [`callbacks`], [`losses`] and [`metrics`]. Free functions over
//! `&mut dyn Model`; model types expose them as methods ([`crate::ModelApi`]).
//!
//! | file | what |
//! |---|---|
//! | `compile.rs`, `compiled.rs` | `compile`; the optimizer, losses and metrics a model trains with |
//! | `options.rs` | [`FitOptions`], [`Validation`] |
//! | `state.rs` | [`TrainingState`], shared by the loop, callbacks and hooks |
//! | `fit.rs` | the loop |
//! | `hooks.rs` | [`TrainingHook`]: the places distributed training plugs in |
//! | `batch_loss.rs`, `epoch_totals.rs` | a batch's loss; log accumulation over an epoch |
//! | `classification_report.rs` | scikit-learn's `classification_report` and `confusion_matrix` |
//! | `class_weight.rs` | [`ClassWeight`]: Keras' `class_weight`, as per-sample weights |
//! | `evaluate.rs`, `predict.rs` | inference |

mod batch_loss;
pub mod callbacks;
mod class_weight;
pub mod classification_report;
mod compile;
mod compile_args;
pub(crate) mod compiled;
pub mod data_parallel;
mod epoch_totals;
mod evaluate;
mod fit;
mod history;
mod hooks;
mod logs;
pub mod loss_scale;
pub mod losses;
pub mod metrics;
mod options;
mod predict;
mod progress;
mod state;
mod targets;

pub use class_weight::ClassWeight;
pub use classification_report::{confusion_matrix, ClassScores, ClassificationReport};
pub use compile::{compile, compile_outputs};
pub use compile_args::{IntoLoss, IntoMetrics, IntoOptimizer};
pub use compiled::{Compiled, CompiledOutput, OutputLoss};
pub use evaluate::{evaluate, evaluate_source, evaluate_source_on};
pub use fit::{fit, fit_multi, fit_source};
pub use history::History;
pub use hooks::TrainingHook;
pub use logs::Logs;
pub use options::{FitOptions, Validation, DEFAULT_BATCH_SIZE};
pub use predict::predict;
pub use progress::Verbosity;
pub use state::TrainingState;

use crate::models::model::Model;
use crate::{Error, Result};

/// The compiled state of `model`, or the error telling the user to compile it.
pub(crate) fn compiled_of(model: &dyn Model) -> Result<&Compiled> {
    model.compiled().ok_or_else(|| not_compiled(model))
}

/// The compiled state of `model`, mutable, or the error telling the user to compile it.
pub(crate) fn compiled_of_mut(model: &mut dyn Model) -> Result<&mut Compiled> {
    if model.compiled().is_none() {
        return Err(not_compiled(model));
    }
    model.compiled_mut().ok_or_else(|| Error::Model {
        model: "?".into(),
        problem: "compiled state vanished".into(),
    })
}

fn not_compiled(model: &dyn Model) -> Error {
    Error::Model {
        model: model.name().into(),
        problem: "must be compiled before fit or evaluate: call compile(optimizer, loss, metrics)"
            .into(),
    }
}
