//! RMSprop, with Keras' placement of epsilon.

use convkit_tensor::tch::Tensor;
use serde::{Deserialize, Serialize};

use super::{check_range, rule_options};
use crate::optimizer::{KerasOptimizer, Step, UpdateRule};
use crate::Result;

/// RMSprop's update. Keras defaults: lr 1e-3, rho 0.9, momentum 0, epsilon 1e-7, not
/// centered.
///
/// `v = rho * v + (1 - rho) * g^2`; `var -= lr * g / sqrt(v + eps)` (epsilon inside the
/// square root, unlike PyTorch; centered subtracts the squared mean gradient first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RMSpropRule {
    /// Discount factor of the squared-gradient average.
    pub rho: f64,
    /// Momentum factor.
    pub momentum: f64,
    /// Small constant for numerical stability.
    pub epsilon: f64,
    /// Normalise by the variance estimate instead of the second moment.
    pub centered: bool,
}

impl Default for RMSpropRule {
    fn default() -> Self {
        RMSpropRule {
            rho: 0.9,
            momentum: 0.0,
            epsilon: 1e-7,
            centered: false,
        }
    }
}

/// Keras' `RMSprop` optimizer (the book's choice for its convnets).
///
/// # Example
/// ```
/// use convkit_optim::RMSprop;
/// let rmsprop = RMSprop::new().learning_rate(1e-4).rho(0.9);
/// ```
pub type RMSprop = KerasOptimizer<RMSpropRule>;

rule_options!(RMSprop: RMSpropRule [rule]; {
    rho: f64 => "Sets rho, the discount factor of the squared-gradient average.",
    momentum: f64 => "Sets the momentum factor.",
    epsilon: f64 => "Sets epsilon.",
    centered: bool => "Normalises by the variance estimate (centered RMSprop).",
});

impl UpdateRule for RMSpropRule {
    const NAME: &'static str = "rmsprop";
    const DEFAULT_LEARNING_RATE: f64 = 1e-3;

    fn slot_names(&self) -> Vec<&'static str> {
        let mut s = vec!["velocity"];
        if self.momentum > 0.0 {
            s.push("momentum");
        }
        if self.centered {
            s.push("average_gradient");
        }
        s
    }
    fn validate(&self) -> Result<()> {
        check_range("rmsprop", "rho", self.rho, 0.0, 1.0)?;
        check_range("rmsprop", "momentum", self.momentum, 0.0, 1.0)?;
        check_range("rmsprop", "epsilon", self.epsilon, 0.0, f64::MAX)
    }
    fn update(&self, var: &mut Tensor, g: &Tensor, slots: &mut [Tensor], at: Step) -> Result<()> {
        let (rho, lr) = (self.rho, at.lr);
        let _ = slots[0].f_mul_scalar_(rho)?;
        let _ = slots[0].f_add_(&g.f_mul(g)?.f_mul_scalar(1.0 - rho)?)?;
        let mut denominator = slots[0].f_add_scalar(self.epsilon)?;
        if self.centered {
            let a = &mut slots[slots.len() - 1];
            let _ = a.f_mul_scalar_(rho)?;
            let _ = a.f_add_(&g.f_mul_scalar(1.0 - rho)?)?;
            denominator = denominator.f_sub(&a.f_square()?)?;
        }
        let increment = g.f_mul_scalar(lr)?.f_div(&denominator.f_sqrt()?)?;
        if self.momentum > 0.0 {
            let m = &mut slots[1];
            let _ = m.f_mul_scalar_(self.momentum)?;
            let _ = m.f_add_(&increment)?;
            let _ = var.f_sub_(m)?;
        } else {
            let _ = var.f_sub_(&increment)?;
        }
        Ok(())
    }
}
