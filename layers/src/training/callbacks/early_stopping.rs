//! `EarlyStopping`: stops when a monitored quantity stops improving.

use convkit_tensor::tch::Tensor;

use super::monitor::monitor_setters;
use super::{Callback, Monitor};
use crate::models::model::Model;
use crate::training::{Logs, TrainingState};
use crate::Result;

/// Stops training after `patience` epochs without improvement of `monitor` by more than
/// `min_delta`. With `restore_best_weights`, the model ends with the weights of its best epoch
/// whether training stopped early or ran out of epochs.
pub struct EarlyStopping {
    /// Quantity to watch (`val_loss`), its direction and `min_delta`.
    pub monitor: Monitor,
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// A value the quantity must beat to reset patience.
    pub baseline: Option<f64>,
    /// Restore the best weights at the end of training.
    pub restore_best_weights: bool,
    /// Epochs to wait before watching.
    pub start_from_epoch: usize,
    wait: usize,
    best_epoch: Option<usize>,
    best_weights: Option<Vec<(String, Tensor)>>,
    stopped_epoch: Option<usize>,
}

impl EarlyStopping {
    /// Watches `monitor` with patience 0 (Keras' defaults).
    pub fn new(monitor: impl Into<String>) -> Self {
        EarlyStopping {
            monitor: Monitor::new(monitor),
            patience: 0,
            baseline: None,
            restore_best_weights: false,
            start_from_epoch: 0,
            wait: 0,
            best_epoch: None,
            best_weights: None,
            stopped_epoch: None,
        }
    }
    /// Sets the patience.
    pub fn patience(mut self, p: usize) -> Self {
        self.patience = p;
        self
    }
    monitor_setters!();
    /// Sets the baseline.
    pub fn baseline(mut self, b: f64) -> Self {
        self.baseline = Some(b);
        self
    }
    /// Restores the best weights at the end.
    pub fn restore_best_weights(mut self, r: bool) -> Self {
        self.restore_best_weights = r;
        self
    }
    /// Epoch of the best value seen, if any.
    pub fn best_epoch(&self) -> Option<usize> {
        self.best_epoch
    }
    /// Epoch at which training was stopped, if it was.
    pub fn stopped_epoch(&self) -> Option<usize> {
        self.stopped_epoch
    }
}

impl Callback for EarlyStopping {
    fn on_train_begin(&mut self, _model: &mut dyn Model, _state: &mut TrainingState) -> Result<()> {
        self.monitor.reset();
        self.wait = 0;
        self.best_epoch = None;
        self.best_weights = None;
        self.stopped_epoch = None;
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &Logs,
        model: &mut dyn Model,
        state: &mut TrainingState,
    ) -> Result<()> {
        let Some(current) = self.monitor.current(logs, "EarlyStopping") else {
            return Ok(());
        };
        if epoch < self.start_from_epoch {
            return Ok(());
        }
        if self.restore_best_weights && self.best_weights.is_none() {
            self.best_weights = Some(model.get_weights()?);
        }
        self.wait += 1;
        if self.monitor.record(current) {
            self.best_epoch = Some(epoch);
            if self.restore_best_weights {
                self.best_weights = Some(model.get_weights()?);
            }
            if self.baseline.is_none_or(|b| self.monitor.beats(current, b)) {
                self.wait = 0;
            }
            return Ok(());
        }
        if self.wait >= self.patience && epoch > 0 {
            self.stopped_epoch = Some(epoch);
            state.stop_training = true;
            tracing::info!(epoch = epoch + 1, monitor = %self.monitor.name, "EarlyStopping: no improvement, stopping");
        }
        Ok(())
    }

    fn on_train_end(&mut self, model: &mut dyn Model, _state: &mut TrainingState) -> Result<()> {
        if let (true, Some(w)) = (self.restore_best_weights, &self.best_weights) {
            tracing::info!(
                best_epoch = self.best_epoch.map(|e| e + 1),
                "EarlyStopping: restoring the best weights"
            );
            model.set_weights(w)?;
        }
        Ok(())
    }
}
