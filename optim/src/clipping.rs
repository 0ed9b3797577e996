//! Gradient clipping, as Keras' `clipnorm`, `global_clipnorm` and `clipvalue`.

use convkit_tensor::tch::{Kind, Tensor};

use crate::Result;

/// How gradients are clipped before the update.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Clipping {
    /// No clipping.
    #[default]
    None,
    /// Each gradient is rescaled so that its own L2 norm is at most this (`clipnorm`).
    Norm(f64),
    /// All gradients are rescaled together so that their joint L2 norm is at most this
    /// (`global_clipnorm`).
    GlobalNorm(f64),
    /// Each gradient element is clamped to `[-v, v]` (`clipvalue`).
    Value(f64),
}

impl Clipping {
    /// Returns the clipped gradients.
    pub fn apply(&self, grads: Vec<Tensor>) -> Result<Vec<Tensor>> {
        match *self {
            Clipping::None => Ok(grads),
            Clipping::Value(v) => grads.iter().map(|g| Ok(g.f_clamp(-v, v)?)).collect(),
            Clipping::Norm(max) => grads
                .iter()
                .map(|g| clip_by_norm(g, &g.f_norm()?, max))
                .collect(),
            Clipping::GlobalNorm(max) => {
                let mut total = Tensor::zeros(
                    [],
                    (
                        Kind::Float,
                        grads
                            .first()
                            .map(|g| g.device())
                            .unwrap_or(convkit_tensor::tch::Device::Cpu),
                    ),
                );
                for g in &grads {
                    total = total.f_add(&g.f_square()?.f_sum(Kind::Float)?)?;
                }
                let norm = total.f_sqrt()?;
                grads.iter().map(|g| clip_by_norm(g, &norm, max)).collect()
            }
        }
    }

    /// JSON value of the Keras option this corresponds to.
    pub fn config(&self) -> serde_json::Value {
        match self {
            Clipping::None => serde_json::Value::Null,
            Clipping::Norm(v) => serde_json::json!({"clipnorm": v}),
            Clipping::GlobalNorm(v) => serde_json::json!({"global_clipnorm": v}),
            Clipping::Value(v) => serde_json::json!({"clipvalue": v}),
        }
    }
}

/// `g * max / max(norm, max)`: unchanged when `norm <= max`.
fn clip_by_norm(g: &Tensor, norm: &Tensor, max: f64) -> Result<Tensor> {
    let denom = norm.f_clamp_min(max)?;
    Ok(g.f_mul_scalar(max)?.f_div(&denom)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use convkit_tensor::tch::Device;

    #[test]
    fn clipping_modes() {
        let g = || {
            vec![
                Tensor::from_slice(&[3.0f32, 4.0]),
                Tensor::from_slice(&[0.0f32, 12.0]),
            ]
        };
        let n = Clipping::Norm(1.0).apply(g()).unwrap();
        assert!((n[0].double_value(&[0]) - 0.6).abs() < 1e-6);
        assert!((n[1].double_value(&[1]) - 1.0).abs() < 1e-6);
        let gn = Clipping::GlobalNorm(6.5).apply(g()).unwrap();
        // joint norm = 13 -> factor 0.5
        assert!((gn[1].double_value(&[1]) - 6.0).abs() < 1e-6);
        let v = Clipping::Value(3.5).apply(g()).unwrap();
        assert_eq!(v[0].double_value(&[1]), 3.5);
        let none = Clipping::None
            .apply(vec![Tensor::ones([2], (Kind::Float, Device::Cpu))])
            .unwrap();
        assert_eq!(none[0].double_value(&[0]), 1.0);
    }
}
