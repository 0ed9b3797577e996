//! `Logs`: named values of one batch or epoch (`loss`, `accuracy`, `val_loss`...).

use serde::{Deserialize, Serialize};

/// Ordered name/value pairs, as Keras' `logs` dict.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Logs(pub Vec<(String, f64)>);

impl Logs {
    /// The value named `name`.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    /// Sets (or adds) a value.
    pub fn set(&mut self, name: &str, v: f64) {
        match self.0.iter_mut().find(|(n, _)| n == name) {
            Some(e) => e.1 = v,
            None => self.0.push((name.to_string(), v)),
        }
    }

    /// Appends the entries of `other` with a prefix (`val_`).
    pub fn extend_prefixed(&mut self, other: &Logs, prefix: &str) {
        for (n, v) in &other.0 {
            self.set(&format!("{prefix}{n}"), *v);
        }
    }

    /// `name: value - name: value`, Keras' progress-bar style (4 decimals, or scientific
    /// notation for magnitudes up to 1e-3, so a learning rate of 1e-5 shows as `1.0000e-5`).
    pub fn display(&self) -> String {
        self.0
            .iter()
            .map(|(n, v)| {
                if v.abs() > 1e-3 || *v == 0.0 {
                    format!("{n}: {v:.4}")
                } else {
                    format!("{n}: {v:.4e}")
                }
            })
            .collect::<Vec<_>>()
            .join(" - ")
    }
}
