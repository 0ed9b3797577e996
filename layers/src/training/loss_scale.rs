//! [`LossScale`]: Keras' `LossScaleOptimizer` dynamic loss scaling for `mixed_float16`.
//!
//! float16 gradients underflow to zero below 6e-8; the loss is multiplied by a large scale
//! before the backward pass, and the gradients divided by it before the optimizer step. When a
//! gradient comes out infinite or NaN the step is skipped and the scale halved; after
//! `growth_steps` good steps in a row it is doubled. Keras' defaults: initial scale 2^15,
//! growth every 2,000 steps. `compile` attaches one to models that compute in float16; it
//! lives with the compiled model, so the scale carries over from one `fit` to the next.

use convkit_tensor::tch::{Kind, Tensor};

use crate::Result;

/// The dynamic loss scale of a `mixed_float16` model.
#[derive(Debug, Clone)]
pub struct LossScale {
    scale: f64,
    good_steps: usize,
    growth_steps: usize,
    skipped: usize,
}

impl Default for LossScale {
    fn default() -> Self {
        Self::new(32768.0, 2000)
    }
}

impl LossScale {
    /// A scale starting at `initial` and doubling after `growth_steps` good steps.
    pub fn new(initial: f64, growth_steps: usize) -> Self {
        LossScale {
            scale: initial,
            good_steps: 0,
            growth_steps: growth_steps.max(1),
            skipped: 0,
        }
    }

    /// The current scale.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Steps skipped so far for infinite or NaN gradients.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// After the backward pass of `loss * scale()`: divides the gradients of `params` by the
    /// scale, in place, and says whether they are all finite (apply the step) or not (skip
    /// it); the scale is updated either way.
    pub fn unscale(&mut self, params: &[Tensor]) -> Result<bool> {
        let grads: Vec<Tensor> = params
            .iter()
            .map(|p| p.grad())
            .filter(|g| g.defined())
            .collect();
        let mut finite = true;
        for g in &grads {
            let all = g.f_isfinite()?.f_all()?.f_to_kind(Kind::Bool)?;
            if !bool::try_from(&all)? {
                finite = false;
                break;
            }
        }
        if !finite {
            self.scale = (self.scale / 2.0).max(1.0);
            self.good_steps = 0;
            self.skipped += 1;
            tracing::debug!(
                scale = self.scale,
                "loss scaling: infinite gradient, step skipped"
            );
            return Ok(false);
        }
        for g in &grads {
            let _ = g.shallow_clone().f_div_scalar_(self.scale)?;
        }
        self.good_steps += 1;
        if self.good_steps >= self.growth_steps {
            self.scale *= 2.0;
            self.good_steps = 0;
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use convkit_tensor::tch::Device;

    fn param_with_grad(g: &[f32]) -> Tensor {
        let p = Tensor::zeros([g.len() as i64], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        (&p * Tensor::from_slice(g)).sum(Kind::Float).backward();
        p
    }

    #[test]
    fn good_steps_unscale_and_grow() {
        let mut s = LossScale::new(8.0, 2);
        let p = param_with_grad(&[8.0, 16.0]);
        assert!(s.unscale(std::slice::from_ref(&p)).unwrap());
        assert_eq!(Vec::<f32>::try_from(p.grad()).unwrap(), vec![1.0, 2.0]);
        assert_eq!(s.scale(), 8.0);
        let q = param_with_grad(&[8.0]);
        assert!(s.unscale(&[q]).unwrap());
        assert_eq!(s.scale(), 16.0, "doubled after 2 good steps");
    }

    #[test]
    fn infinite_gradients_skip_and_halve() {
        let mut s = LossScale::new(8.0, 2);
        let p = param_with_grad(&[1.0, f32::INFINITY]);
        assert!(!s.unscale(std::slice::from_ref(&p)).unwrap());
        assert_eq!((s.scale(), s.skipped()), (4.0, 1));
        let q = param_with_grad(&[f32::NAN]);
        assert!(!s.unscale(&[q]).unwrap());
        assert_eq!(s.scale(), 2.0);
    }
}
