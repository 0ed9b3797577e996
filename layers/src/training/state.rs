//! [`TrainingState`]: the state of a running `fit`, which callbacks and hooks receive beside
//! the model.

use std::sync::Arc;

use convkit_tensor::distributed::ProcessGroup;

use crate::training::History;

/// The state of a running `fit`: epoch and step counters, the history so far and the stop
/// flag. The optimizer, losses and metrics stay with the compiled model
/// (`model.compiled()`), where callbacks reach them too.
#[derive(Debug, Clone, Default)]
pub struct TrainingState {
    /// The epoch running now, or the next one to run (callbacks restoring a backup move it
    /// forward in `on_train_begin`).
    pub epoch: usize,
    /// Index of the last epoch + 1.
    pub epochs: usize,
    /// The batch running now within the epoch.
    pub step: usize,
    /// Batches per epoch.
    pub steps_per_epoch: usize,
    /// Optimizer steps taken by this `fit` call.
    pub total_steps: usize,
    /// The history so far.
    pub history: History,
    /// Set to stop after the current batch (`TerminateOnNaN`) or epoch (`EarlyStopping`).
    pub stop_training: bool,
    /// The process group of data-parallel training (`FitOptions::distributed`), so that
    /// callbacks can tell rank 0 and share its files (`BackupAndRestore`).
    pub distributed: Option<Arc<ProcessGroup>>,
}
