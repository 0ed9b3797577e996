//! What callbacks that watch a quantity share: the mode and the improvement test.

use serde::{Deserialize, Serialize};

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
