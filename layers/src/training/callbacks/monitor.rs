//! What callbacks that watch a quantity share: the [`Monitor`], with its [`Mode`] and
//! improvement test.

use serde::{Deserialize, Serialize};

use crate::training::Logs;

/// Whether the monitored quantity should go down or up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// `max` for names containing "acc" (or starting with "fmeasure"), `min` otherwise.
    #[default]
    Auto,
    /// Lower is better.
    Min,
    /// Higher is better.
    Max,
}

impl Mode {
    /// Resolves `Auto` for `monitor` as Keras does.
    pub fn resolve(self, monitor: &str) -> Mode {
        match self {
            Mode::Auto
                if monitor.contains("acc")
                    || monitor.starts_with("fmeasure")
                    || monitor.contains("auc") =>
            {
                Mode::Max
            }
            Mode::Auto => Mode::Min,
            m => m,
        }
    }

    /// Whether `current` improves on `best` by more than `min_delta` (`Auto` must be resolved).
    pub fn improves(self, current: f64, best: f64, min_delta: f64) -> bool {
        match self {
            Mode::Max => current - min_delta.abs() > best,
            _ => current + min_delta.abs() < best,
        }
    }

    /// The worst possible value.
    pub fn worst(self) -> f64 {
        match self {
            Mode::Max => f64::NEG_INFINITY,
            _ => f64::INFINITY,
        }
    }
}

/// A quantity a callback watches (`val_loss`): its name, the direction of improvement, the
/// smallest change that counts, and the best value seen (what `EarlyStopping`,
/// `ModelCheckpoint` and `ReduceLROnPlateau` share).
#[derive(Debug, Clone)]
pub struct Monitor {
    /// The log entry watched (`val_loss`, `val_accuracy`...).
    pub name: String,
    /// The direction of improvement (`Auto` until training begins).
    pub mode: Mode,
    /// The smallest change counted as an improvement.
    pub min_delta: f64,
    best: f64,
}

impl Monitor {
    /// Watches `name`, direction from its name, any change an improvement.
    pub fn new(name: impl Into<String>) -> Self {
        Monitor {
            name: name.into(),
            mode: Mode::Auto,
            min_delta: 0.0,
            best: f64::NAN,
        }
    }

    /// Sets the smallest change counted as an improvement.
    pub fn with_min_delta(mut self, d: f64) -> Self {
        self.min_delta = d;
        self
    }

    /// At train begin: resolves the mode and forgets the best value.
    pub fn reset(&mut self) {
        self.mode = self.mode.resolve(&self.name);
        self.best = self.mode.worst();
    }

    /// At train begin: resolves the mode and keeps the best value of an earlier `fit`.
    pub fn resume(&mut self) {
        self.mode = self.mode.resolve(&self.name);
        if self.best.is_nan() {
            self.best = self.mode.worst();
        }
    }

    /// The watched value in `logs`; when absent, `callback` warns and names what is there.
    pub fn current(&self, logs: &Logs, callback: &str) -> Option<f64> {
        let value = logs.get(&self.name);
        if value.is_none() {
            let available: Vec<&str> = logs.0.iter().map(|(n, _)| n.as_str()).collect();
            tracing::warn!(monitor = %self.name, ?available, "{callback}: monitored quantity not in logs");
        }
        value
    }

    /// Whether `value` improves on `than` by more than `min_delta`.
    pub fn beats(&self, value: f64, than: f64) -> bool {
        self.mode.improves(value, than, self.min_delta)
    }

    /// Records `value` when it improves on the best so far; returns whether it did.
    pub fn record(&mut self, value: f64) -> bool {
        let improved = self.beats(value, self.best);
        if improved {
            self.best = value;
        }
        improved
    }

    /// Starts from `best` as the best value seen.
    pub fn set_best(&mut self, best: f64) {
        self.best = best;
    }

    /// The best value seen (the worst possible before any).
    pub fn best(&self) -> f64 {
        self.best
    }
}

/// Builder methods `mode` and `min_delta` of a callback whose [`Monitor`] is `self.monitor`.
macro_rules! monitor_setters {
    () => {
        /// Sets the direction of improvement.
        pub fn mode(mut self, m: $crate::training::callbacks::Mode) -> Self {
            self.monitor.mode = m;
            self
        }
        /// Sets the smallest change counted as an improvement.
        pub fn min_delta(mut self, d: f64) -> Self {
            self.monitor.min_delta = d;
            self
        }
    };
}
pub(crate) use monitor_setters;
