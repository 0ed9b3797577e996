//! [`ClassWeight`]: Keras' `fit(class_weight=...)`. Each training sample's loss is scaled by
//! the weight of its class; the metrics stay unweighted and validation is unweighted, as in
//! Keras 3.15 (`layers/tests/class_weight.rs` checks both against it).
//!
//! The weighted batch loss is Keras' `sum_over_batch_size` of the weighted values:
//! `sum(w_i * loss_i) / N` (not divided by the sum of the weights).

use convkit_tensor::tch::{Device, Kind, Tensor};

use crate::error::full_shape_string;
use crate::{Error, Result};

/// A weight per class index; classes past the end weigh 1 (Keras' `class_weight.get(c, 1.0)`).
///
/// # Example
/// ```
/// use convkit_layers::training::ClassWeight;
/// // sklearn's compute_class_weight("balanced"): n_samples / (n_classes * count)
/// let w = ClassWeight::balanced(&[30, 10]).unwrap();
/// assert_eq!(w.weights(), &[40.0 / 60.0, 40.0 / 20.0]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ClassWeight {
    weights: Vec<f64>,
}

impl ClassWeight {
    /// `weights[c]` for class `c`; each must be finite and non-negative.
    pub fn new(weights: Vec<f64>) -> Result<Self> {
        if let Some((c, w)) = weights
            .iter()
            .enumerate()
            .find(|(_, w)| !(w.is_finite() && **w >= 0.0))
        {
            return Err(Error::Model {
                model: "fit".into(),
                problem: format!("class_weight of class {c} must be finite and >= 0, got {w}"),
            });
        }
        Ok(ClassWeight { weights })
    }

    /// scikit-learn's `compute_class_weight("balanced")` from the number of training samples
    /// of each class: `n_samples / (n_classes * counts[c])`. A class without samples is an
    /// error, since its weight would be infinite.
    pub fn balanced(counts: &[usize]) -> Result<Self> {
        let total: usize = counts.iter().sum();
        if let Some(c) = counts.iter().position(|&n| n == 0) {
            return Err(Error::Model {
                model: "fit".into(),
                problem: format!(
                    "class_weight \"balanced\": class {c} has no training sample, so its weight \
                     would be infinite"
                ),
            });
        }
        let k = counts.len() as f64;
        Self::new(
            counts
                .iter()
                .map(|&n| total as f64 / (k * n as f64))
                .collect(),
        )
    }

    /// The weights, by class index.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// One weight per sample of the batch targets `y`, as Keras' data adapter turns
    /// `class_weight` into `sample_weight`.
    ///
    /// # Shapes
    /// `y`: `(N,)` class indices, `(N, 1)` binary 0/1 (rounded), or `(N, C)` one-hot
    /// (argmax) -> `(N,)` float.
    pub fn sample_weights(&self, y: &Tensor) -> Result<Tensor> {
        let size = y.size();
        let classes = match size.as_slice() {
            [_] => y.f_round()?.f_to_kind(Kind::Int64)?,
            [_, 1] => y.f_squeeze_dim(1)?.f_round()?.f_to_kind(Kind::Int64)?,
            [_, _] => y.f_argmax(1, false)?,
            _ => {
                return Err(Error::Targets {
                    what: "class_weight".into(),
                    problem: format!(
                        "needs targets of shape (N,), (N, 1) or (N, classes), got {}",
                        full_shape_string(&size)
                    ),
                })
            }
        };
        let k = self.weights.len() as i64;
        let device: Device = y.device();
        // The table's last entry, 1.0, is the weight of every class it does not list.
        let mut table = self.weights.clone();
        table.push(1.0);
        let table = Tensor::f_from_slice(&table)?
            .f_to_kind(Kind::Float)?
            .f_to_device(device)?;
        let listed = classes.f_ge(0)?.f_logical_and(&classes.f_lt(k)?)?;
        let index = classes.f_where_scalarother(&listed, k)?;
        Ok(table.f_index_select(0, &index)?)
    }
}

/// `values` of shape `(N, ...)` times `weights` `(N,)`, broadcast over the trailing axes.
pub(crate) fn weigh(values: &Tensor, weights: &Tensor) -> Result<Tensor> {
    let mut shape = vec![-1i64];
    shape.resize(values.dim().max(1), 1);
    Ok(values.f_mul(&weights.f_view(shape.as_slice())?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_weights_follow_each_target_form() {
        let w = ClassWeight::new(vec![0.5, 2.0, 3.0]).unwrap();
        let sparse = Tensor::from_slice(&[0i64, 2, 1, 7]);
        let got: Vec<f32> = w.sample_weights(&sparse).unwrap().try_into().unwrap();
        assert_eq!(
            got,
            vec![0.5, 3.0, 2.0, 1.0],
            "class 7 is not listed: weight 1"
        );
        let onehot = Tensor::from_slice(&[0f32, 1., 0., 1., 0., 0.]).view([2, 3]);
        let got: Vec<f32> = w.sample_weights(&onehot).unwrap().try_into().unwrap();
        assert_eq!(got, vec![2.0, 0.5]);
        let binary = Tensor::from_slice(&[1f32, 0.]).view([2, 1]);
        let got: Vec<f32> = w.sample_weights(&binary).unwrap().try_into().unwrap();
        assert_eq!(got, vec![2.0, 0.5]);
        assert!(w
            .sample_weights(&Tensor::zeros([2, 3, 4], (Kind::Float, Device::Cpu)))
            .is_err());
    }

    #[test]
    fn bad_weights_are_refused() {
        assert!(ClassWeight::new(vec![1.0, f64::NAN]).is_err());
        assert!(ClassWeight::new(vec![-1.0]).is_err());
        let e = ClassWeight::balanced(&[3, 0]).unwrap_err().to_string();
        assert!(e.contains("class 1 has no training sample"), "{e}");
    }
}
