//! Stochastic gradient descent with optional (Nesterov) momentum.

use convkit_tensor::tch::Tensor;
use serde::{Deserialize, Serialize};

use super::{check_range, rule_options};
use crate::optimizer::{KerasOptimizer, Step, UpdateRule};
use crate::Result;

/// SGD's update. Keras defaults: lr 0.01, momentum 0.
///
/// `m = momentum * m - lr * g`; `var += m` (Nesterov: `var += momentum * m - lr * g`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SgdRule {
    /// Momentum factor in `[0, 1]`.
    pub momentum: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
}

/// Keras' `SGD` optimizer.
///
/// # Example
/// ```
/// use convkit_optim::SGD;
/// let sgd = SGD::new().learning_rate(0.1).momentum(0.9).nesterov(true);
/// ```
pub type SGD = KerasOptimizer<SgdRule>;

rule_options!(SGD: SgdRule [rule]; {
    momentum: f64 => "Sets the momentum factor, in `[0, 1]`.",
    nesterov: bool => "Enables Nesterov momentum.",
});

impl UpdateRule for SgdRule {
    const NAME: &'static str = "sgd";
    const DEFAULT_LEARNING_RATE: f64 = 0.01;

    fn slot_names(&self) -> Vec<&'static str> {
        if self.momentum != 0.0 {
            vec!["momentum"]
        } else {
            vec![]
        }
    }
    fn validate(&self) -> Result<()> {
        check_range("sgd", "momentum", self.momentum, 0.0, 1.0)
    }
    fn update(&self, var: &mut Tensor, g: &Tensor, slots: &mut [Tensor], at: Step) -> Result<()> {
        let lr = at.lr;
        if self.momentum == 0.0 {
            let _ = var.f_sub_(&g.f_mul_scalar(lr)?)?;
            return Ok(());
        }
        let m = &mut slots[0];
        let _ = m.f_mul_scalar_(self.momentum)?;
        let _ = m.f_sub_(&g.f_mul_scalar(lr)?)?;
        if self.nesterov {
            let _ = var.f_sub_(&g.f_mul_scalar(lr)?)?;
            let _ = var.f_add_(&m.f_mul_scalar(self.momentum)?)?;
        } else {
            let _ = var.f_add_(m)?;
        }
        Ok(())
    }
}
