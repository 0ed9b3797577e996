//! `ReduceLROnPlateau`: lowers the learning rate when a quantity stops improving.

use super::monitor::monitor_setters;
use super::{Callback, Monitor};
use crate::models::model::Model;
use crate::training::{Logs, TrainingState};
use crate::Result;

/// Multiplies the learning rate by `factor` after `patience` epochs without improvement of
/// `monitor` by more than `min_delta`, waits `cooldown` epochs, never goes below `min_lr`.
/// Keras' defaults: factor 0.1, patience 10, min_delta 1e-4.
#[derive(Debug, Clone)]
pub struct ReduceLROnPlateau {
    /// Quantity to watch, its direction and `min_delta`.
    pub monitor: Monitor,
    /// Factor applied to the learning rate.
    pub factor: f64,
    /// Epochs without improvement before reducing.
    pub patience: usize,
    /// Epochs to wait after a reduction.
    pub cooldown: usize,
    /// Lower bound of the learning rate.
    pub min_lr: f64,
    wait: usize,
    cooldown_counter: usize,
}

impl ReduceLROnPlateau {
    /// Watches `monitor` with Keras' defaults.
    pub fn new(monitor: impl Into<String>) -> Self {
        ReduceLROnPlateau {
            monitor: Monitor::new(monitor).with_min_delta(1e-4),
            factor: 0.1,
            patience: 10,
            cooldown: 0,
            min_lr: 0.0,
            wait: 0,
            cooldown_counter: 0,
        }
    }
    /// Sets the factor.
    pub fn factor(mut self, f: f64) -> Self {
        self.factor = f;
        self
    }
    /// Sets the patience.
    pub fn patience(mut self, p: usize) -> Self {
        self.patience = p;
        self
    }
    /// Sets the cooldown.
    pub fn cooldown(mut self, c: usize) -> Self {
        self.cooldown = c;
        self
    }
    /// Sets the minimum learning rate.
    pub fn min_lr(mut self, m: f64) -> Self {
        self.min_lr = m;
        self
    }
    monitor_setters!();
}

impl Callback for ReduceLROnPlateau {
    fn on_train_begin(&mut self, _model: &mut dyn Model, _state: &mut TrainingState) -> Result<()> {
        self.monitor.reset();
        self.wait = 0;
        self.cooldown_counter = 0;
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &Logs,
        model: &mut dyn Model,
        _state: &mut TrainingState,
    ) -> Result<()> {
        let Some(current) = self.monitor.current(logs, "ReduceLROnPlateau") else {
            return Ok(());
        };
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.wait = 0;
        }
        if self.monitor.record(current) {
            self.wait = 0;
        } else if self.cooldown_counter == 0 {
            self.wait += 1;
            if self.wait >= self.patience {
                if let Some(c) = model.compiled_mut() {
                    let old = c.optimizer.learning_rate();
                    if old > self.min_lr {
                        let new = (old * self.factor).max(self.min_lr);
                        c.optimizer.set_learning_rate(new);
                        tracing::info!(
                            epoch = epoch + 1,
                            old,
                            new,
                            "ReduceLROnPlateau: reducing learning rate"
                        );
                        self.cooldown_counter = self.cooldown;
                        self.wait = 0;
                    }
                }
            }
        }
        Ok(())
    }
}
