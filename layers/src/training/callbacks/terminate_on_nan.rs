//! `TerminateOnNaN`: stops training as soon as the loss becomes NaN or infinite.

use super::Callback;
use crate::models::model::Model;
use crate::training::{Logs, TrainingState};
use crate::Result;

/// Stops `fit` at the first batch whose loss is NaN or infinite, with a message (logged and
/// stored in `History::stop_reason`).
#[derive(Debug, Default, Clone)]
pub struct TerminateOnNaN;

impl TerminateOnNaN {
    /// A new callback.
    pub fn new() -> Self {
        TerminateOnNaN
    }
}

impl Callback for TerminateOnNaN {
    fn wants_batch_logs(&self) -> bool {
        true
    }
    fn on_train_batch_end(
        &mut self,
        batch: usize,
        logs: &Logs,
        _model: &mut dyn Model,
        state: &mut TrainingState,
    ) -> Result<()> {
        if let Some(loss) = logs.get("batch_loss") {
            if !loss.is_finite() {
                let msg = format!(
                    "Batch {batch} of epoch {}: invalid loss {loss}, terminating training",
                    state.epoch + 1
                );
                tracing::error!("{msg}");
                state.history.stop_reason = Some(msg);
                state.stop_training = true;
            }
        }
        Ok(())
    }
}
