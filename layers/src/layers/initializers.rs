//! Weight initializers, with Keras' definitions of fan-in and fan-out.

use convkit_tensor::tch::{Device, Kind, Tensor};
use serde::{Deserialize, Serialize};

use crate::Result;

/// How a weight is initialised.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Initializer {
    /// `U(-l, l)`, `l = sqrt(6 / (fan_in + fan_out))` (Keras' kernel default).
    #[default]
    GlorotUniform,
    /// Truncated normal, stddev `sqrt(2 / (fan_in + fan_out))`.
    GlorotNormal,
    /// `U(-l, l)`, `l = sqrt(6 / fan_in)`.
    HeUniform,
    /// Truncated normal, stddev `sqrt(2 / fan_in)`.
    HeNormal,
    /// `U(-l, l)`, `l = sqrt(3 / fan_in)`.
    LecunUniform,
    /// All zeros (Keras' bias default).
    Zeros,
    /// All ones.
    Ones,
    /// A constant.
    Constant(f64),
    /// Normal distribution.
    RandomNormal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        stddev: f64,
    },
    /// Uniform distribution.
    RandomUniform {
        /// Lower bound.
        minval: f64,
        /// Upper bound.
        maxval: f64,
    },
}

/// Fan-in and fan-out of a weight of Keras shape: `(in, out)` for Dense, `(kh, kw, in, out)`
/// for convolutions (receptive field times channels).
pub fn fans(keras_shape: &[i64]) -> (f64, f64) {
    match keras_shape.len() {
        0 => (1.0, 1.0),
        1 => (keras_shape[0] as f64, keras_shape[0] as f64),
        2 => (keras_shape[0] as f64, keras_shape[1] as f64),
        n => {
            let rf: i64 = keras_shape[..n - 2].iter().product();
            (
                (rf * keras_shape[n - 2]) as f64,
                (rf * keras_shape[n - 1]) as f64,
            )
        }
    }
}

impl Initializer {
    /// A new tensor of `shape`, with fans computed from `keras_shape` (the same weight in
    /// Keras' layout, which can differ from convkit's storage layout).
    pub fn init(self, shape: &[i64], keras_shape: &[i64], device: Device) -> Result<Tensor> {
        // The shape may come from a model.json: check it before libtorch allocates it.
        convkit_tensor::memory::check_allocation(
            &format!("a weight of shape {keras_shape:?}"),
            shape,
            4,
        )?;
        let opts = (Kind::Float, device);
        let (fan_in, fan_out) = fans(keras_shape);
        let uniform =
            |l: f64| -> Result<Tensor> { Ok(Tensor::f_empty(shape, opts)?.f_uniform_(-l, l)?) };
        Ok(match self {
            Initializer::GlorotUniform => uniform((6.0 / (fan_in + fan_out)).sqrt())?,
            Initializer::HeUniform => uniform((6.0 / fan_in).sqrt())?,
            Initializer::LecunUniform => uniform((3.0 / fan_in).sqrt())?,
            Initializer::GlorotNormal => {
                truncated_normal(shape, (2.0 / (fan_in + fan_out)).sqrt(), device)?
            }
            Initializer::HeNormal => truncated_normal(shape, (2.0 / fan_in).sqrt(), device)?,
            Initializer::Zeros => Tensor::f_zeros(shape, opts)?,
            Initializer::Ones => Tensor::f_ones(shape, opts)?,
            Initializer::Constant(c) => Tensor::f_full(shape, c, opts)?,
            Initializer::RandomNormal { mean, stddev } => {
                Tensor::f_empty(shape, opts)?.f_normal_(mean, stddev)?
            }
            Initializer::RandomUniform { minval, maxval } => {
                Tensor::f_empty(shape, opts)?.f_uniform_(minval, maxval)?
            }
        })
    }
}

/// Normal values truncated to two standard deviations, scaled as Keras' variance-scaling
/// initializers do (the truncation's variance loss is compensated by 1 / 0.8796).
fn truncated_normal(shape: &[i64], stddev: f64, device: Device) -> Result<Tensor> {
    // Inverse-CDF sampling: u ~ U(Phi(-2), Phi(2)), x = sqrt(2) * erfinv(2u - 1).
    let lo = 0.022_750_131_948_179_2;
    let u = Tensor::f_empty(shape, (Kind::Float, device))?.f_uniform_(lo, 1.0 - lo)?;
    let x = u
        .f_mul_scalar(2.0)?
        .f_sub_scalar(1.0)?
        .f_erfinv()?
        .f_mul_scalar(std::f64::consts::SQRT_2)?;
    Ok(x.f_mul_scalar(stddev / 0.879_625_661_034_239_8)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fans_follow_keras() {
        assert_eq!(fans(&[3, 3, 1, 32]), (9.0, 288.0));
        assert_eq!(fans(&[64, 10]), (64.0, 10.0));
    }

    #[test]
    fn glorot_uniform_stays_in_its_limit() {
        let t = Initializer::GlorotUniform
            .init(&[32, 1, 3, 3], &[3, 3, 1, 32], Device::Cpu)
            .unwrap();
        let l = (6.0f64 / (9.0 + 288.0)).sqrt();
        assert!(t.abs().max().double_value(&[]) <= l);
        assert!(t.abs().max().double_value(&[]) > 0.8 * l);
        let n = Initializer::HeNormal
            .init(&[10000], &[100, 100], Device::Cpu)
            .unwrap();
        let sd = n.std(true).double_value(&[]);
        assert!((sd - (2.0f64 / 100.0).sqrt()).abs() < 0.01, "{sd}");
    }
}
