//! `ModelCheckpoint`: saves the model after epochs, optionally only when it improves.

use std::path::PathBuf;

use super::{Callback, Mode, Monitor};
use crate::models::model::Model;
use crate::saving::{save_model_with_info, save_weights};
use crate::training::{Logs, TrainingState};
use crate::Result;

/// Saves the model (directory with architecture, weights and optimizer state; or a weights
/// file with `save_weights_only`) at the end of every epoch, or only when `monitor` improves
/// with `save_best_only`. `{epoch}` in the path is replaced by the 1-based epoch number
/// (`{epoch:02}` pads it). Writes are atomic.
#[derive(Debug, Clone)]
pub struct ModelCheckpoint {
    /// Target path (directory, or `.safetensors` file with `save_weights_only`).
    pub filepath: String,
    /// Quantity to watch (`val_loss`) and its direction.
    pub monitor: Monitor,
    /// Only save when `monitor` improves.
    pub save_best_only: bool,
    /// Save only the weights.
    pub save_weights_only: bool,
    /// Written beside the model as its `info.json` (see [`save_model_with_info`]).
    pub info: Option<serde_json::Value>,
}

impl ModelCheckpoint {
    /// Saves to `filepath` every epoch, watching `val_loss`.
    pub fn new(filepath: impl Into<String>) -> Self {
        ModelCheckpoint {
            filepath: filepath.into(),
            monitor: Monitor::new("val_loss"),
            save_best_only: false,
            save_weights_only: false,
            info: None,
        }
    }
    /// Sets the monitored quantity.
    pub fn monitor(mut self, m: impl Into<String>) -> Self {
        self.monitor.name = m.into();
        self
    }
    /// Sets the mode.
    pub fn mode(mut self, m: Mode) -> Self {
        self.monitor.mode = m;
        self
    }
    /// Only saves improvements.
    pub fn save_best_only(mut self, b: bool) -> Self {
        self.save_best_only = b;
        self
    }
    /// Saves weights only.
    pub fn save_weights_only(mut self, w: bool) -> Self {
        self.save_weights_only = w;
        self
    }
    /// Saves `info` with every model (its `info.json`: class names, preprocessing...).
    pub fn info(mut self, info: serde_json::Value) -> Self {
        self.info = Some(info);
        self
    }
    /// Counts only improvements on `best` (the best value of an earlier `fit`, such as the
    /// first phase of a fine-tuning), so the checkpoint keeps the best model of both.
    pub fn initial_best(mut self, best: f64) -> Self {
        self.monitor.set_best(best);
        self
    }

    /// The path for 0-based `epoch`.
    pub fn path_for(&self, epoch: usize) -> PathBuf {
        let e = epoch + 1;
        let mut p = self.filepath.clone();
        for width in 1..=6 {
            p = p
                .replace(&format!("{{epoch:0{width}}}"), &format!("{e:0width$}"))
                .replace(&format!("{{epoch:0{width}d}}"), &format!("{e:0width$}"));
        }
        PathBuf::from(p.replace("{epoch}", &e.to_string()))
    }
}

impl Callback for ModelCheckpoint {
    fn rank_zero_only(&self) -> bool {
        true
    }

    fn on_train_begin(&mut self, _model: &mut dyn Model, state: &mut TrainingState) -> Result<()> {
        self.monitor.resume();
        // A run resumed by BackupAndRestore (an earlier callback) has its history back: the
        // best epoch so far counts, so a worse epoch after the resume does not overwrite it.
        if let Some(values) = state.history.history.get(&self.monitor.name) {
            for &v in values.iter().filter(|v| v.is_finite()) {
                self.monitor.record(v);
            }
        }
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &Logs,
        model: &mut dyn Model,
        _state: &mut TrainingState,
    ) -> Result<()> {
        if self.save_best_only {
            let Some(current) = self.monitor.current(logs, "ModelCheckpoint") else {
                return Ok(());
            };
            let previous = self.monitor.best();
            if !self.monitor.record(current) {
                return Ok(());
            }
            tracing::info!(epoch = epoch + 1, monitor = %self.monitor.name, from = previous, to = current, "ModelCheckpoint: improved, saving");
        }
        let path = self.path_for(epoch);
        if self.save_weights_only {
            save_weights(model, &path)
        } else {
            save_model_with_info(model, &path, self.info.as_ref())
        }
    }
}
