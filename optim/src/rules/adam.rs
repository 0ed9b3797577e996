//! Adam, and AdamW (Adam with decoupled weight decay).

use convkit_tensor::tch::Tensor;
use serde::{Deserialize, Serialize};

use super::{check_range, rule_options};
use crate::optimizer::{KerasOptimizer, Step, UpdateRule};
use crate::Result;

/// Adam's update. Keras defaults: lr 1e-3, beta_1 0.9, beta_2 0.999, epsilon 1e-7, no
/// amsgrad.
///
/// `alpha = lr * sqrt(1 - b2^t) / (1 - b1^t)`; `var -= alpha * m / (sqrt(v) + eps)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AdamRule {
    /// Decay of the first moment.
    pub beta_1: f64,
    /// Decay of the second moment.
    pub beta_2: f64,
    /// Small constant for numerical stability.
    pub epsilon: f64,
    /// Use the maximum of past second moments (AMSGrad).
    pub amsgrad: bool,
}

impl Default for AdamRule {
    fn default() -> Self {
        AdamRule {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            amsgrad: false,
        }
    }
}

/// AdamW's update: Adam's, with Keras' default decoupled `weight_decay` 0.004 (applied by
/// the [`KerasOptimizer`], as for every optimizer).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AdamWRule {
    /// The Adam part.
    #[serde(flatten)]
    pub adam: AdamRule,
}

/// Keras' `Adam` optimizer.
///
/// # Example
/// ```
/// use convkit_optim::Adam;
/// let adam = Adam::new().learning_rate(3e-4).amsgrad(true);
/// ```
pub type Adam = KerasOptimizer<AdamRule>;

/// Keras' `AdamW` optimizer (weight decay 0.004 unless set).
///
/// # Example
/// ```
/// use convkit_optim::AdamW;
/// let adamw = AdamW::new().learning_rate(1e-3).weight_decay(0.01);
/// ```
pub type AdamW = KerasOptimizer<AdamWRule>;

rule_options!(Adam: AdamRule [rule], AdamW: AdamRule [rule.adam]; {
    beta_1: f64 => "Sets beta_1, the decay of the first moment.",
    beta_2: f64 => "Sets beta_2, the decay of the second moment.",
    epsilon: f64 => "Sets epsilon.",
    amsgrad: bool => "Enables AMSGrad.",
});

impl AdamRule {
    fn checked(&self, name: &str) -> Result<()> {
        check_range(name, "beta_1", self.beta_1, 0.0, 1.0)?;
        check_range(name, "beta_2", self.beta_2, 0.0, 1.0)?;
        check_range(name, "epsilon", self.epsilon, 0.0, f64::MAX)
    }
}

impl UpdateRule for AdamRule {
    const NAME: &'static str = "adam";
    const DEFAULT_LEARNING_RATE: f64 = 1e-3;

    fn slot_names(&self) -> Vec<&'static str> {
        let mut s = vec!["momentum", "velocity"];
        if self.amsgrad {
            s.push("velocity_hat");
        }
        s
    }
    fn validate(&self) -> Result<()> {
        self.checked("adam")
    }
    fn update(&self, var: &mut Tensor, g: &Tensor, slots: &mut [Tensor], at: Step) -> Result<()> {
        let t = at.t as f64;
        let alpha = at.lr * (1.0 - self.beta_2.powf(t)).sqrt() / (1.0 - self.beta_1.powf(t));
        let _ = slots[0].f_mul_scalar_(self.beta_1)?;
        let _ = slots[0].f_add_(&g.f_mul_scalar(1.0 - self.beta_1)?)?;
        let _ = slots[1].f_mul_scalar_(self.beta_2)?;
        let _ = slots[1].f_add_(&g.f_mul(g)?.f_mul_scalar(1.0 - self.beta_2)?)?;
        let v = if self.amsgrad {
            let m = slots[2].f_maximum(&slots[1])?;
            slots[2].f_copy_(&m)?;
            slots[2].shallow_clone()
        } else {
            slots[1].shallow_clone()
        };
        let upd = slots[0]
            .f_mul_scalar(alpha)?
            .f_div(&v.f_sqrt()?.f_add_scalar(self.epsilon)?)?;
        let _ = var.f_sub_(&upd)?;
        Ok(())
    }
}

impl UpdateRule for AdamWRule {
    const NAME: &'static str = "adamw";
    const DEFAULT_LEARNING_RATE: f64 = 1e-3;

    const DEFAULT_WEIGHT_DECAY: f64 = 0.004;

    fn slot_names(&self) -> Vec<&'static str> {
        self.adam.slot_names()
    }
    fn validate(&self) -> Result<()> {
        self.adam.checked("adamw")
    }
    fn update(&self, var: &mut Tensor, g: &Tensor, slots: &mut [Tensor], at: Step) -> Result<()> {
        self.adam.update(var, g, slots, at)
    }
}
