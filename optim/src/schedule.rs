//! Learning-rate schedules, evaluated at the optimizer's iteration count (as Keras does).

use serde_json::{json, Value};

/// A learning rate that depends on the optimizer step.
pub trait LearningRateSchedule: Send {
    /// The learning rate at `step` (the number of updates already applied).
    fn at(&self, step: u64) -> f64;
    /// A JSON description (`{"class_name": ..., "config": ...}`).
    fn config(&self) -> Value;
}

/// A constant learning rate or a schedule.
pub enum LearningRate {
    /// The same rate at every step.
    Constant(f64),
    /// A rate computed from the step.
    Schedule(Box<dyn LearningRateSchedule>),
}

impl LearningRate {
    /// The rate at `step`.
    pub fn at(&self, step: u64) -> f64 {
        match self {
            LearningRate::Constant(lr) => *lr,
            LearningRate::Schedule(s) => s.at(step),
        }
    }

    /// JSON description.
    pub fn config(&self) -> Value {
        match self {
            LearningRate::Constant(lr) => json!(lr),
            LearningRate::Schedule(s) => s.config(),
        }
    }
}

impl std::fmt::Debug for LearningRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.config())
    }
}

/// Keras' `ExponentialDecay`: `initial * decay_rate ^ (step / decay_steps)`, the exponent
/// floored when `staircase`.
#[derive(Debug, Clone)]
pub struct ExponentialDecay {
    /// Rate at step 0.
    pub initial_learning_rate: f64,
    /// Steps per decay period.
    pub decay_steps: u64,
    /// Factor applied per period.
    pub decay_rate: f64,
    /// Decay in whole periods.
    pub staircase: bool,
}

impl LearningRateSchedule for ExponentialDecay {
    fn at(&self, step: u64) -> f64 {
        let mut p = step as f64 / self.decay_steps.max(1) as f64;
        if self.staircase {
            p = p.floor();
        }
        self.initial_learning_rate * self.decay_rate.powf(p)
    }
    fn config(&self) -> Value {
        json!({"class_name": "ExponentialDecay", "config": {
            "initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate, "staircase": self.staircase}})
    }
}

/// Step decay (PyTorch's `StepLR` counted in optimizer steps): `initial * gamma ^ floor(step / step_size)`.
#[derive(Debug, Clone)]
pub struct StepDecay {
    /// Rate at step 0.
    pub initial_learning_rate: f64,
    /// Steps between two drops.
    pub step_size: u64,
    /// Factor applied at each drop.
    pub gamma: f64,
}

impl LearningRateSchedule for StepDecay {
    fn at(&self, step: u64) -> f64 {
        self.initial_learning_rate * self.gamma.powi((step / self.step_size.max(1)) as i32)
    }
    fn config(&self) -> Value {
        json!({"class_name": "StepDecay", "config": {
            "initial_learning_rate": self.initial_learning_rate, "step_size": self.step_size, "gamma": self.gamma}})
    }
}

/// Keras' `CosineDecay` (without warmup): from `initial` down to `initial * alpha` over
/// `decay_steps`, then flat.
#[derive(Debug, Clone)]
pub struct CosineDecay {
    /// Rate at step 0.
    pub initial_learning_rate: f64,
    /// Steps to decay over.
    pub decay_steps: u64,
    /// Final rate as a fraction of the initial one.
    pub alpha: f64,
}

impl LearningRateSchedule for CosineDecay {
    fn at(&self, step: u64) -> f64 {
        let s = step.min(self.decay_steps) as f64 / self.decay_steps.max(1) as f64;
        let cosine = 0.5 * (1.0 + (std::f64::consts::PI * s).cos());
        self.initial_learning_rate * ((1.0 - self.alpha) * cosine + self.alpha)
    }
    fn config(&self) -> Value {
        json!({"class_name": "CosineDecay", "config": {
            "initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps, "alpha": self.alpha}})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_follow_keras_formulas() {
        let e = ExponentialDecay {
            initial_learning_rate: 0.1,
            decay_steps: 10,
            decay_rate: 0.5,
            staircase: false,
        };
        assert!((e.at(5) - 0.1 * 0.5f64.powf(0.5)).abs() < 1e-12);
        let s = ExponentialDecay {
            staircase: true,
            ..e
        };
        assert_eq!(s.at(19), 0.05);
        let st = StepDecay {
            initial_learning_rate: 1.0,
            step_size: 3,
            gamma: 0.1,
        };
        assert_eq!(st.at(2), 1.0);
        assert!((st.at(6) - 0.01).abs() < 1e-12);
        let c = CosineDecay {
            initial_learning_rate: 1.0,
            decay_steps: 100,
            alpha: 0.1,
        };
        assert_eq!(c.at(0), 1.0);
        assert!((c.at(50) - 0.55).abs() < 1e-12);
        assert!((c.at(1000) - 0.1).abs() < 1e-12);
    }
}
