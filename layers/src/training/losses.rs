//! Losses with Keras 3 semantics: crossentropies on probabilities are clipped to
//! `[1e-7, 1 - 1e-7]`, the class axis is axis 1 (Keras' last axis in NCHW), and the result is
//! the mean over the batch ("sum_over_batch_size").

use convkit_tensor::tch::{Kind, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::full_shape_string;
use crate::training::targets::{same_rank, sparse_targets};
use crate::{Error, Result};

/// Keras' `backend.epsilon()`.
pub const EPSILON: f64 = 1e-7;

/// A loss function.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "name")]
pub enum Loss {
    /// Two-class crossentropy; targets 0/1 of the predictions' shape.
    BinaryCrossentropy {
        /// Predictions are logits, not probabilities.
        #[serde(default)]
        from_logits: bool,
    },
    /// Crossentropy with one-hot targets of the predictions' shape.
    CategoricalCrossentropy {
        /// Predictions are logits.
        #[serde(default)]
        from_logits: bool,
    },
    /// Crossentropy with integer class targets (the predictions without the class axis).
    SparseCategoricalCrossentropy {
        /// Predictions are logits.
        #[serde(default)]
        from_logits: bool,
    },
    /// Mean squared error.
    MeanSquaredError,
    /// Mean absolute error.
    MeanAbsoluteError,
}

impl Loss {
    /// The names [`Loss::from_name`] knows.
    pub const NAMES: &'static [&'static str] = &[
        "binary_crossentropy",
        "categorical_crossentropy",
        "sparse_categorical_crossentropy",
        "mse",
        "mean_squared_error",
        "mae",
        "mean_absolute_error",
    ];

    /// Parses Keras' names (`"binary_crossentropy"`, `"categorical_crossentropy"`,
    /// `"sparse_categorical_crossentropy"`, `"mse"`, `"mae"` and long forms); an unknown
    /// name is an error that lists the known ones.
    pub fn from_name(name: &str) -> Result<Loss> {
        Ok(match name {
            "binary_crossentropy" => Loss::BinaryCrossentropy { from_logits: false },
            "categorical_crossentropy" => Loss::CategoricalCrossentropy { from_logits: false },
            "sparse_categorical_crossentropy" => {
                Loss::SparseCategoricalCrossentropy { from_logits: false }
            }
            "mse" | "mean_squared_error" => Loss::MeanSquaredError,
            "mae" | "mean_absolute_error" => Loss::MeanAbsoluteError,
            _ => return Err(Error::unknown_name("loss", name, Self::NAMES)),
        })
    }

    /// Keras' name.
    pub fn name(&self) -> &'static str {
        match self {
            Loss::BinaryCrossentropy { .. } => "binary_crossentropy",
            Loss::CategoricalCrossentropy { .. } => "categorical_crossentropy",
            Loss::SparseCategoricalCrossentropy { .. } => "sparse_categorical_crossentropy",
            Loss::MeanSquaredError => "mean_squared_error",
            Loss::MeanAbsoluteError => "mean_absolute_error",
        }
    }

    /// Per-sample losses (the batch axis, plus any spatial axes for per-pixel losses).
    pub fn per_sample(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let last = y_pred.dim() as i64 - 1;
        let aligned = same_rank(y_true, y_pred)?;
        let y_true = match self {
            Loss::SparseCategoricalCrossentropy { .. } => y_true,
            _ => &aligned,
        };
        match *self {
            Loss::BinaryCrossentropy { from_logits } => {
                self.same_shape(y_true, y_pred)?;
                let t = y_true.f_to_kind(y_pred.kind())?;
                let elems = if from_logits {
                    y_pred.f_binary_cross_entropy_with_logits(
                        &t,
                        None::<&Tensor>,
                        None::<&Tensor>,
                        convkit_tensor::tch::Reduction::None,
                    )?
                } else {
                    let p = y_pred.f_clamp(EPSILON, 1.0 - EPSILON)?;
                    p.f_binary_cross_entropy(
                        &t,
                        None::<&Tensor>,
                        convkit_tensor::tch::Reduction::None,
                    )?
                };
                Ok(elems.f_mean_dim([last].as_slice(), false, Kind::Float)?)
            }
            Loss::CategoricalCrossentropy { from_logits } => {
                self.same_shape(y_true, y_pred)?;
                let log_prob = log_probabilities(y_pred, from_logits)?;
                Ok(y_true
                    .f_to_kind(log_prob.kind())?
                    .f_mul(&log_prob)?
                    .f_sum_dim_intlist([1i64].as_slice(), false, Kind::Float)?
                    .f_neg()?)
            }
            Loss::SparseCategoricalCrossentropy { from_logits } => {
                let t = sparse_targets(y_true, y_pred).map_err(|problem| Error::Targets {
                    what: self.name().into(),
                    problem,
                })?;
                let classes = y_pred.size()[1];
                let (lo, hi) = (
                    t.f_min()?.f_int64_value(&[])?,
                    t.f_max()?.f_int64_value(&[])?,
                );
                if lo < 0 || hi >= classes {
                    return Err(Error::Targets {
                        what: self.name().into(),
                        problem: format!("class indices must lie in [0, {classes}), found values from {lo} to {hi}"),
                    });
                }
                let log_prob = log_probabilities(y_pred, from_logits)?;
                Ok(log_prob
                    .f_gather(1, &t.f_unsqueeze(1)?, false)?
                    .f_squeeze_dim(1)?
                    .f_neg()?)
            }
            Loss::MeanSquaredError => {
                self.same_shape(y_true, y_pred)?;
                let d = y_pred.f_sub(&y_true.f_to_kind(y_pred.kind())?)?;
                Ok(d.f_square()?
                    .f_mean_dim([last].as_slice(), false, Kind::Float)?)
            }
            Loss::MeanAbsoluteError => {
                self.same_shape(y_true, y_pred)?;
                let d = y_pred.f_sub(&y_true.f_to_kind(y_pred.kind())?)?;
                Ok(d.f_abs()?
                    .f_mean_dim([last].as_slice(), false, Kind::Float)?)
            }
        }
    }

    /// The loss of a batch: the mean of the per-sample losses.
    pub fn compute(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        Ok(self.per_sample(y_true, y_pred)?.f_mean(Kind::Float)?)
    }

    fn same_shape(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<()> {
        if y_true.size() != y_pred.size() {
            let hint = match self {
                Loss::CategoricalCrossentropy { .. } if y_true.dim() + 1 == y_pred.dim() => {
                    " (integer class targets need sparse_categorical_crossentropy, or one-hot them with to_categorical)"
                }
                _ => "",
            };
            return Err(Error::Targets {
                what: self.name().into(),
                problem: format!(
                    "targets of shape {} do not match predictions of shape {}{hint}",
                    full_shape_string(&y_true.size()),
                    full_shape_string(&y_pred.size())
                ),
            });
        }
        Ok(())
    }
}

/// Log-probabilities over axis 1: log-softmax of logits, or Keras' renormalised and clipped
/// probabilities.
fn log_probabilities(y_pred: &Tensor, from_logits: bool) -> Result<Tensor> {
    if from_logits {
        return Ok(y_pred.f_log_softmax(1, Kind::Float)?);
    }
    let p = y_pred.f_div(&y_pred.f_sum_dim_intlist([1i64].as_slice(), true, Kind::Float)?)?;
    Ok(p.f_clamp(EPSILON, 1.0 - EPSILON)?.f_log()?)
}
