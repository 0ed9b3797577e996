//! Metrics, averaged over all samples of an epoch as Keras' `MeanMetricWrapper` does.
//! [`Metric::Accuracy`] ("accuracy"/"acc") becomes binary, categorical or sparse accuracy
//! depending on the loss, as in Keras.

use convkit_tensor::tch::{Kind, Tensor};
use serde::{Deserialize, Serialize};

use crate::training::losses::Loss;
use crate::training::targets::{same_rank, sparse_targets};
use crate::{Error, Result};

/// A metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Resolved from the loss at compile time.
    Accuracy,
    /// Fraction of `(y_pred > 0.5) == y_true`.
    BinaryAccuracy,
    /// Fraction of `argmax(y_pred) == argmax(y_true)`.
    CategoricalAccuracy,
    /// Fraction of `argmax(y_pred) == y_true`.
    SparseCategoricalAccuracy,
    /// Whether the one-hot target is among the `k` highest predictions.
    TopKCategoricalAccuracy(i64),
    /// Whether the integer target is among the `k` highest predictions.
    SparseTopKCategoricalAccuracy(i64),
    /// Mean absolute error.
    MeanAbsoluteError,
    /// Mean squared error.
    MeanSquaredError,
    /// Mean intersection-over-union over `num_classes` classes (Keras' `MeanIoU` with
    /// `sparse_y_pred=False`): integer targets, class scores on axis 1 (argmax), computed from
    /// a confusion matrix accumulated over the epoch.
    MeanIoU(i64),
}

impl Metric {
    /// The names [`Metric::from_name`] knows.
    pub const NAMES: &'static [&'static str] = &[
        "accuracy",
        "acc",
        "binary_accuracy",
        "categorical_accuracy",
        "sparse_categorical_accuracy",
        "top_k_categorical_accuracy",
        "sparse_top_k_categorical_accuracy",
        "mae",
        "mean_absolute_error",
        "mse",
        "mean_squared_error",
    ];

    /// Parses Keras' names (`accuracy`, `acc`, `top_k_categorical_accuracy`, `mae`...); an
    /// unknown name is an error that lists the known ones.
    pub fn from_name(name: &str) -> Result<Metric> {
        Ok(match name {
            "accuracy" | "acc" => Metric::Accuracy,
            "binary_accuracy" => Metric::BinaryAccuracy,
            "categorical_accuracy" => Metric::CategoricalAccuracy,
            "sparse_categorical_accuracy" => Metric::SparseCategoricalAccuracy,
            "top_k_categorical_accuracy" => Metric::TopKCategoricalAccuracy(5),
            "sparse_top_k_categorical_accuracy" => Metric::SparseTopKCategoricalAccuracy(5),
            "mae" | "mean_absolute_error" => Metric::MeanAbsoluteError,
            "mse" | "mean_squared_error" => Metric::MeanSquaredError,
            _ => return Err(Error::unknown_name("metric", name, Self::NAMES)),
        })
    }

    /// The concrete metric for a loss (`Accuracy` -> binary/categorical/sparse accuracy).
    pub fn resolve(self, loss: &Loss) -> Metric {
        match (self, loss) {
            (Metric::Accuracy, Loss::BinaryCrossentropy { .. }) => Metric::BinaryAccuracy,
            (Metric::Accuracy, Loss::SparseCategoricalCrossentropy { .. }) => {
                Metric::SparseCategoricalAccuracy
            }
            (Metric::Accuracy, _) => Metric::CategoricalAccuracy,
            (m, _) => m,
        }
    }

    /// The key in logs and history.
    pub fn name(&self) -> String {
        match self {
            Metric::Accuracy => "accuracy".into(),
            Metric::BinaryAccuracy => "binary_accuracy".into(),
            Metric::CategoricalAccuracy => "categorical_accuracy".into(),
            Metric::SparseCategoricalAccuracy => "sparse_categorical_accuracy".into(),
            Metric::TopKCategoricalAccuracy(5) => "top_k_categorical_accuracy".into(),
            Metric::TopKCategoricalAccuracy(k) => format!("top_{k}_categorical_accuracy"),
            Metric::SparseTopKCategoricalAccuracy(5) => "sparse_top_k_categorical_accuracy".into(),
            Metric::SparseTopKCategoricalAccuracy(k) => {
                format!("sparse_top_{k}_categorical_accuracy")
            }
            Metric::MeanAbsoluteError => "mean_absolute_error".into(),
            Metric::MeanSquaredError => "mean_squared_error".into(),
            Metric::MeanIoU(_) => "mean_io_u".into(),
        }
    }

    /// Per-sample values for a batch (averaging them over the epoch gives the metric).
    /// `Accuracy` must be resolved first.
    pub fn per_sample(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let last = y_pred.dim() as i64 - 1;
        let err = |problem: String| Error::Targets {
            what: self.name(),
            problem,
        };
        let v = match *self {
            Metric::MeanIoU(_) => {
                return Err(err(
                    "mean IoU is not a per-sample value; use Metric::confusion".into(),
                ))
            }
            Metric::Accuracy => {
                return Err(err(
                    "`accuracy` must be resolved from the loss (compile does it)".into(),
                ))
            }
            Metric::BinaryAccuracy => {
                let y_true = same_rank(y_true, y_pred)?;
                if y_true.size() != y_pred.size() {
                    return Err(err(format!(
                        "targets of shape {} do not match predictions of shape {}",
                        crate::error::full_shape_string(&y_true.size()),
                        crate::error::full_shape_string(&y_pred.size())
                    )));
                }
                let hit = y_pred
                    .f_gt(0.5)?
                    .f_to_kind(Kind::Float)?
                    .f_eq_tensor(&y_true.f_to_kind(Kind::Float)?)?;
                hit.f_to_kind(Kind::Float)?
                    .f_mean_dim([last].as_slice(), false, Kind::Float)?
            }
            Metric::CategoricalAccuracy => y_pred
                .f_argmax(1, false)?
                .f_eq_tensor(&y_true.f_argmax(1, false)?)?
                .f_to_kind(Kind::Float)?,
            Metric::SparseCategoricalAccuracy => {
                let t = sparse_targets(y_true, y_pred).map_err(err)?;
                y_pred
                    .f_argmax(1, false)?
                    .f_eq_tensor(&t)?
                    .f_to_kind(Kind::Float)?
            }
            Metric::TopKCategoricalAccuracy(k) => in_top_k(&y_true.f_argmax(1, false)?, y_pred, k)?,
            Metric::SparseTopKCategoricalAccuracy(k) => {
                in_top_k(&sparse_targets(y_true, y_pred).map_err(err)?, y_pred, k)?
            }
            Metric::MeanAbsoluteError => y_pred
                .f_sub(&same_rank(y_true, y_pred)?.f_to_kind(Kind::Float)?)?
                .f_abs()?
                .f_mean_dim([last].as_slice(), false, Kind::Float)?,
            Metric::MeanSquaredError => y_pred
                .f_sub(&same_rank(y_true, y_pred)?.f_to_kind(Kind::Float)?)?
                .f_square()?
                .f_mean_dim([last].as_slice(), false, Kind::Float)?,
        };
        Ok(v)
    }
}

impl Metric {
    /// The `(num_classes, num_classes)` confusion matrix of a batch (rows: true class,
    /// columns: predicted class), for [`Metric::MeanIoU`].
    pub fn confusion(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let k = match *self {
            Metric::MeanIoU(k) => k,
            _ => {
                return Err(Error::Targets {
                    what: self.name(),
                    problem: "only MeanIoU keeps a confusion matrix".into(),
                })
            }
        };
        let t = sparse_targets(y_true, y_pred).map_err(|problem| Error::Targets {
            what: self.name(),
            problem,
        })?;
        let p = y_pred.f_argmax(1, false)?;
        let valid = t.f_ge(0)?.f_logical_and(&t.f_lt(k)?)?;
        let idx = t
            .f_masked_select(&valid)?
            .f_mul_scalar(k)?
            .f_add(&p.f_masked_select(&valid)?)?;
        Ok(idx
            .f_bincount(None::<&Tensor>, k * k)?
            .f_to_kind(Kind::Double)?
            .f_view([k, k])?)
    }

    /// Mean IoU from an accumulated confusion matrix: per class
    /// `tp / (tp + fp + fn)`, averaged over the classes that occur (true or predicted).
    pub fn mean_iou(confusion: &Tensor) -> Result<f64> {
        let diag = confusion.f_diagonal(0, 0, 1)?;
        let denom = confusion
            .f_sum_dim_intlist([0i64].as_slice(), false, Kind::Double)?
            .f_add(&confusion.f_sum_dim_intlist([1i64].as_slice(), false, Kind::Double)?)?
            .f_sub(&diag)?;
        let present = denom.f_gt(0.0)?;
        let n = present.f_sum(Kind::Double)?.f_double_value(&[])?;
        if n == 0.0 {
            return Ok(0.0);
        }
        let iou = diag
            .f_div(&denom.f_clamp_min(1.0)?)?
            .f_mul(&present.f_to_kind(Kind::Double)?)?;
        Ok(iou.f_sum(Kind::Double)?.f_double_value(&[])? / n)
    }
}

/// 1.0 where the target's score is at least the k-th highest score (ties count, as Keras).
fn in_top_k(targets: &Tensor, y_pred: &Tensor, k: i64) -> Result<Tensor> {
    let classes = y_pred.size()[1];
    let k = k.clamp(1, classes);
    let (values, _) = y_pred.f_topk(k, 1, true, true)?;
    let kth = values.f_narrow(1, k - 1, 1)?;
    let target_score = y_pred.f_gather(1, &targets.f_unsqueeze(1)?, false)?;
    Ok(target_score
        .f_ge_tensor(&kth)?
        .f_to_kind(Kind::Float)?
        .f_squeeze_dim(1)?)
}
