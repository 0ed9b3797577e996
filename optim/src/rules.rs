//! The update rules of Keras 3's SGD, RMSprop, Adam and AdamW, with Keras' defaults.
//!
//! The formulas and the order of operations follow `keras/src/optimizers/*.py` (and their
//! torch-backend twins); golden tests compare 10-step trajectories with Keras.

use convkit_tensor::tch::Tensor;
use serde_json::{json, Value};

use crate::optimizer::UpdateRule;
use crate::{Error, Result};

fn check_range(opt: &str, option: &str, v: f64, lo: f64, hi: f64) -> Result<()> {
    if !(v >= lo && v <= hi) {
        return Err(Error::Option {
            optimizer: opt.into(),
            option: option.into(),
            problem: format!("must lie in [{lo}, {hi}], got {v}"),
        });
    }
    Ok(())
}

/// Stochastic gradient descent with optional (Nesterov) momentum. Keras defaults: lr 0.01,
/// momentum 0.
///
/// `m = momentum * m - lr * g`; `var += m` (Nesterov: `var += momentum * m - lr * g`).
#[derive(Debug, Clone, Default)]
pub struct SGD {
    /// Momentum factor in `[0, 1]`.
    pub momentum: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
}

impl SGD {
    /// Sets the momentum.
    pub fn momentum(mut self, m: f64) -> Self {
        self.momentum = m;
        self
    }
    /// Enables Nesterov momentum.
    pub fn nesterov(mut self, n: bool) -> Self {
        self.nesterov = n;
        self
    }
}

impl UpdateRule for SGD {
    fn name(&self) -> &'static str {
        "sgd"
    }
    fn default_learning_rate(&self) -> f64 {
        0.01
    }
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
    fn update(
        &self,
        var: &mut Tensor,
        g: &Tensor,
        slots: &mut [Tensor],
        lr: f64,
        _step: u64,
    ) -> Result<()> {
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
    fn config(&self) -> Value {
        json!({"momentum": self.momentum, "nesterov": self.nesterov})
    }
}

/// RMSprop. Keras defaults: lr 1e-3, rho 0.9, momentum 0, epsilon 1e-7, not centered.
///
/// `v = rho * v + (1 - rho) * g^2`; `var -= lr * g / sqrt(v + eps)` (epsilon inside the
/// square root, unlike PyTorch; centered subtracts the squared mean gradient first).
#[derive(Debug, Clone)]
pub struct RMSprop {
    /// Discount factor of the squared-gradient average.
    pub rho: f64,
    /// Momentum factor.
    pub momentum: f64,
    /// Small constant for numerical stability.
    pub epsilon: f64,
    /// Normalise by the variance estimate instead of the second moment.
    pub centered: bool,
}

impl Default for RMSprop {
    fn default() -> Self {
        RMSprop {
            rho: 0.9,
            momentum: 0.0,
            epsilon: 1e-7,
            centered: false,
        }
    }
}

impl RMSprop {
    /// Sets rho.
    pub fn rho(mut self, rho: f64) -> Self {
        self.rho = rho;
        self
    }
    /// Sets momentum.
    pub fn momentum(mut self, m: f64) -> Self {
        self.momentum = m;
        self
    }
    /// Sets epsilon.
    pub fn epsilon(mut self, e: f64) -> Self {
        self.epsilon = e;
        self
    }
    /// Sets centered.
    pub fn centered(mut self, c: bool) -> Self {
        self.centered = c;
        self
    }
}

impl UpdateRule for RMSprop {
    fn name(&self) -> &'static str {
        "rmsprop"
    }
    fn default_learning_rate(&self) -> f64 {
        1e-3
    }
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
    fn update(
        &self,
        var: &mut Tensor,
        g: &Tensor,
        slots: &mut [Tensor],
        lr: f64,
        _step: u64,
    ) -> Result<()> {
        let rho = self.rho;
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
    fn config(&self) -> Value {
        json!({"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon, "centered": self.centered})
    }
}

/// Adam. Keras defaults: lr 1e-3, beta_1 0.9, beta_2 0.999, epsilon 1e-7, no amsgrad.
///
/// `alpha = lr * sqrt(1 - b2^t) / (1 - b1^t)`; `var -= alpha * m / (sqrt(v) + eps)`.
#[derive(Debug, Clone)]
pub struct Adam {
    /// Decay of the first moment.
    pub beta_1: f64,
    /// Decay of the second moment.
    pub beta_2: f64,
    /// Small constant for numerical stability.
    pub epsilon: f64,
    /// Use the maximum of past second moments (AMSGrad).
    pub amsgrad: bool,
}

impl Default for Adam {
    fn default() -> Self {
        Adam {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            amsgrad: false,
        }
    }
}

impl Adam {
    /// Sets beta_1.
    pub fn beta_1(mut self, b: f64) -> Self {
        self.beta_1 = b;
        self
    }
    /// Sets beta_2.
    pub fn beta_2(mut self, b: f64) -> Self {
        self.beta_2 = b;
        self
    }
    /// Sets epsilon.
    pub fn epsilon(mut self, e: f64) -> Self {
        self.epsilon = e;
        self
    }
    /// Enables AMSGrad.
    pub fn amsgrad(mut self, a: bool) -> Self {
        self.amsgrad = a;
        self
    }

    fn adam_update(
        &self,
        var: &mut Tensor,
        g: &Tensor,
        slots: &mut [Tensor],
        lr: f64,
        step: u64,
    ) -> Result<()> {
        let t = step as f64;
        let alpha = lr * (1.0 - self.beta_2.powf(t)).sqrt() / (1.0 - self.beta_1.powf(t));
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

    fn adam_slots(&self) -> Vec<&'static str> {
        let mut s = vec!["momentum", "velocity"];
        if self.amsgrad {
            s.push("velocity_hat");
        }
        s
    }

    fn adam_validate(&self, name: &str) -> Result<()> {
        check_range(name, "beta_1", self.beta_1, 0.0, 1.0)?;
        check_range(name, "beta_2", self.beta_2, 0.0, 1.0)?;
        check_range(name, "epsilon", self.epsilon, 0.0, f64::MAX)
    }

    fn adam_config(&self) -> Value {
        json!({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon, "amsgrad": self.amsgrad})
    }
}

impl UpdateRule for Adam {
    fn name(&self) -> &'static str {
        "adam"
    }
    fn default_learning_rate(&self) -> f64 {
        1e-3
    }
    fn slot_names(&self) -> Vec<&'static str> {
        self.adam_slots()
    }
    fn validate(&self) -> Result<()> {
        self.adam_validate("adam")
    }
    fn update(
        &self,
        var: &mut Tensor,
        g: &Tensor,
        slots: &mut [Tensor],
        lr: f64,
        step: u64,
    ) -> Result<()> {
        self.adam_update(var, g, slots, lr, step)
    }
    fn config(&self) -> Value {
        self.adam_config()
    }
}

/// AdamW: Adam with decoupled weight decay, Keras default `weight_decay` 0.004 (set it with
/// [`crate::KerasOptimizer::with_weight_decay`]).
#[derive(Debug, Clone, Default)]
pub struct AdamW {
    /// The Adam part.
    pub adam: Adam,
}

impl UpdateRule for AdamW {
    fn name(&self) -> &'static str {
        "adamw"
    }
    fn default_learning_rate(&self) -> f64 {
        1e-3
    }
    fn default_weight_decay(&self) -> f64 {
        0.004
    }
    fn slot_names(&self) -> Vec<&'static str> {
        self.adam.adam_slots()
    }
    fn validate(&self) -> Result<()> {
        self.adam.adam_validate("adamw")
    }
    fn update(
        &self,
        var: &mut Tensor,
        g: &Tensor,
        slots: &mut [Tensor],
        lr: f64,
        step: u64,
    ) -> Result<()> {
        self.adam.adam_update(var, g, slots, lr, step)
    }
    fn config(&self) -> Value {
        self.adam.adam_config()
    }
}
