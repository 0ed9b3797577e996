//! `History`: per-epoch logs of a `fit`, saved as JSON (`{"loss": [...], "val_loss": [...]}`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::training::Logs;
use crate::{Error, Result};

/// What `fit` returns: the logs of every epoch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// Epoch indices (0-based) that ran.
    pub epoch: Vec<usize>,
    /// One list per logged quantity (`loss`, `accuracy`, `val_loss`...).
    #[serde(flatten)]
    pub history: BTreeMap<String, Vec<f64>>,
    /// Wall-clock seconds of each epoch (training and validation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub epoch_seconds: Vec<f64>,
    /// Why training stopped before the last epoch, if it did (`TerminateOnNaN`,
    /// `EarlyStopping`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
}

impl History {
    /// Records the logs of `epoch`.
    pub fn push(&mut self, epoch: usize, logs: &Logs, seconds: f64) {
        self.epoch.push(epoch);
        for (n, v) in &logs.0 {
            self.history.entry(n.clone()).or_default().push(*v);
        }
        self.epoch_seconds.push(seconds);
    }

    /// The values logged for `name`.
    pub fn get(&self, name: &str) -> Option<&[f64]> {
        self.history.get(name).map(|v| v.as_slice())
    }

    /// Writes the history as JSON, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(|e| Error::file(path, e))?;
        Ok(convkit_tensor::atomic::write_bytes_atomic(path, &json)?)
    }

    /// Reads a history written by [`History::save`] (or Keras' `history.history` dumped as JSON).
    pub fn load(path: &Path) -> Result<History> {
        let bytes = convkit_tensor::files::read_regular_file(path, 1 << 30)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::file(path, format!("not a history JSON: {e}")))
    }
}
