//! Weight and activity regularizers (Keras' `L1`, `L2`, `L1L2`).

use convkit_tensor::tch::{Kind, Tensor};
use serde::{Deserialize, Serialize};

use crate::Result;

/// A penalty added to the loss.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Regularizer {
    /// `l1 * sum(|x|)`.
    L1(f64),
    /// `l2 * sum(x^2)`.
    L2(f64),
    /// `l1 * sum(|x|) + l2 * sum(x^2)`.
    L1L2 {
        /// L1 factor.
        l1: f64,
        /// L2 factor.
        l2: f64,
    },
}

impl Regularizer {
    /// The penalty for `x` (a scalar tensor).
    pub fn penalty(self, x: &Tensor) -> Result<Tensor> {
        let (l1, l2) = match self {
            Regularizer::L1(a) => (a, 0.0),
            Regularizer::L2(b) => (0.0, b),
            Regularizer::L1L2 { l1, l2 } => (l1, l2),
        };
        let mut p = Tensor::f_zeros([], (Kind::Float, x.device()))?;
        if l1 != 0.0 {
            p = p.f_add(&x.f_abs()?.f_sum(Kind::Float)?.f_mul_scalar(l1)?)?;
        }
        if l2 != 0.0 {
            p = p.f_add(&x.f_square()?.f_sum(Kind::Float)?.f_mul_scalar(l2)?)?;
        }
        Ok(p)
    }
}

/// Adds an optional penalty to an optional total.
pub(crate) fn add_penalty(
    total: Option<Tensor>,
    reg: Option<Regularizer>,
    x: &Tensor,
) -> Result<Option<Tensor>> {
    match reg {
        None => Ok(total),
        Some(r) => {
            let p = r.penalty(x)?;
            Ok(Some(match total {
                Some(t) => t.f_add(&p)?,
                None => p,
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn penalties() {
        let x = Tensor::from_slice(&[1.0f32, -2.0, 3.0]);
        assert!((Regularizer::L1(0.1).penalty(&x).unwrap().double_value(&[]) - 0.6).abs() < 1e-6);
        assert!((Regularizer::L2(0.01).penalty(&x).unwrap().double_value(&[]) - 0.14).abs() < 1e-6);
        let both = Regularizer::L1L2 { l1: 0.1, l2: 0.01 }
            .penalty(&x)
            .unwrap()
            .double_value(&[]);
        assert!((both - 0.74).abs() < 1e-6);
    }
}
