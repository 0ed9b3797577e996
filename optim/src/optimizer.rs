//! The [`Optimizer`] trait and [`KerasOptimizer`], which adds what every Keras optimizer shares
//! (learning rate or schedule, clipping, decoupled weight decay, iteration count, slot state) to
//! an [`UpdateRule`].

use convkit_tensor::tch::{self, Tensor};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use crate::{Clipping, Error, LearningRate, LearningRateSchedule, Result};

/// Updates a list of parameter tensors from their gradients.
pub trait Optimizer: Send {
    /// Keras' name of the optimizer (`"rmsprop"`).
    fn name(&self) -> &str;
    /// The learning rate that the next step uses.
    fn learning_rate(&self) -> f64;
    /// Replaces the learning rate (and any schedule) by a constant (`ReduceLROnPlateau`).
    fn set_learning_rate(&mut self, lr: f64);
    /// Number of steps applied so far.
    fn iterations(&self) -> u64;
    /// Applies one update to `params` from their `.grad()`; parameters without a gradient are
    /// left alone. The list must be the same, in the same order, at every call.
    fn step(&mut self, params: &[Tensor]) -> Result<()>;
    /// The state to save: slot tensors named `"{slot}_{i}"` and `"iterations"`.
    fn state(&self) -> Result<Vec<(String, Tensor)>>;
    /// Restores a state produced by [`Optimizer::state`] for the same parameters.
    fn load_state(&mut self, params: &[Tensor], state: Vec<(String, Tensor)>) -> Result<()>;
    /// JSON description of the configuration (Keras' `get_config`).
    fn config(&self) -> Value;
    /// The per-weight slots of its state, in order (`["momentum", "velocity"]` for Adam);
    /// [`Optimizer::state`] names them `<slot>_<weight index>`.
    fn slot_names(&self) -> Vec<&'static str>;
}

/// Where an update happens: the learning rate of this step and the step's number, counted
/// from 1 (Adam's bias correction uses it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// The learning rate of this step.
    pub lr: f64,
    /// The step's number, from 1.
    pub t: u64,
}

/// The per-variable update of one optimizer family (SGD, RMSprop, Adam...). Its serde
/// fields are its options: they are saved in the optimizer's configuration, and missing ones
/// take the `Default` (Keras' defaults) when read back.
pub trait UpdateRule: Send + Serialize + DeserializeOwned + Default + 'static {
    /// Keras' name.
    const NAME: &'static str;
    /// Keras' default learning rate.
    const DEFAULT_LEARNING_RATE: f64;
    /// Default decoupled weight decay (0 except for AdamW).
    const DEFAULT_WEIGHT_DECAY: f64 = 0.0;
    /// Names of the per-variable slots (created as zeros like the variable).
    fn slot_names(&self) -> Vec<&'static str>;
    /// Updates `var` in place from its gradient `g` and its slots (called under `no_grad`).
    fn update(&self, var: &mut Tensor, g: &Tensor, slots: &mut [Tensor], at: Step) -> Result<()>;
    /// Checks the options.
    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

/// An [`UpdateRule`] plus what all Keras optimizers share: [`crate::SGD`], [`crate::RMSprop`],
/// [`crate::Adam`] and [`crate::AdamW`] are this type with their rules, built as Keras'
/// constructors read: `RMSprop::new().learning_rate(1e-4)`.
pub struct KerasOptimizer<R: UpdateRule> {
    pub(crate) rule: R,
    learning_rate: LearningRate,
    clipping: Clipping,
    weight_decay: f64,
    iterations: u64,
    slots: Vec<Vec<Tensor>>,
}

impl<R: UpdateRule> Default for KerasOptimizer<R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<R: UpdateRule> KerasOptimizer<R> {
    /// Keras' defaults: the rule's default options and learning rate, no clipping.
    pub fn new() -> Self {
        Self::from_rule(R::default())
    }

    /// `rule` with its default learning rate, no clipping.
    pub fn from_rule(rule: R) -> Self {
        KerasOptimizer {
            learning_rate: LearningRate::Constant(R::DEFAULT_LEARNING_RATE),
            weight_decay: R::DEFAULT_WEIGHT_DECAY,
            rule,
            clipping: Clipping::None,
            iterations: 0,
            slots: Vec::new(),
        }
    }

    /// Sets a constant learning rate (Keras' `learning_rate=`). On a built optimizer the
    /// current rate is [`Optimizer::learning_rate`].
    pub fn learning_rate(mut self, lr: f64) -> Self {
        self.learning_rate = LearningRate::Constant(lr);
        self
    }

    /// Uses a learning-rate schedule (Keras' `learning_rate=schedule`).
    pub fn schedule(mut self, s: impl LearningRateSchedule + 'static) -> Self {
        self.learning_rate = LearningRate::Schedule(Box::new(s));
        self
    }

    /// Sets gradient clipping.
    pub fn clipping(mut self, c: Clipping) -> Self {
        self.clipping = c;
        self
    }

    /// Clips each gradient to this L2 norm (Keras' `clipnorm=`).
    pub fn clipnorm(self, norm: f64) -> Self {
        self.clipping(Clipping::Norm(norm))
    }

    /// Clips the gradients to this global L2 norm (Keras' `global_clipnorm=`).
    pub fn global_clipnorm(self, norm: f64) -> Self {
        self.clipping(Clipping::GlobalNorm(norm))
    }

    /// Clips each gradient element to `[-value, value]` (Keras' `clipvalue=`).
    pub fn clipvalue(self, value: f64) -> Self {
        self.clipping(Clipping::Value(value))
    }

    /// Sets decoupled weight decay (`var -= var * weight_decay * lr` before each update;
    /// Keras' `weight_decay=`).
    pub fn weight_decay(mut self, wd: f64) -> Self {
        self.weight_decay = wd;
        self
    }

    /// The update rule.
    pub fn rule(&self) -> &R {
        &self.rule
    }

    fn check(&self) -> Result<()> {
        self.rule.validate()?;
        let lr = self.learning_rate.at(self.iterations);
        if !(lr.is_finite() && lr >= 0.0) {
            return Err(Error::Option {
                optimizer: R::NAME.into(),
                option: "learning_rate".into(),
                problem: format!("must be a finite number >= 0, got {lr}"),
            });
        }
        Ok(())
    }
}

impl<R: UpdateRule> Optimizer for KerasOptimizer<R> {
    fn name(&self) -> &str {
        R::NAME
    }

    fn learning_rate(&self) -> f64 {
        self.learning_rate.at(self.iterations)
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.learning_rate = LearningRate::Constant(lr);
    }

    fn iterations(&self) -> u64 {
        self.iterations
    }

    fn step(&mut self, params: &[Tensor]) -> Result<()> {
        self.check()?;
        if self.slots.is_empty() {
            let names = self.rule.slot_names();
            self.slots = params
                .iter()
                .map(|p| {
                    names
                        .iter()
                        .map(|_| p.f_zeros_like().map(|t| t.detach()))
                        .collect::<Result<Vec<_>, _>>()
                })
                .collect::<Result<Vec<_>, _>>()?;
        }
        if self.slots.len() != params.len() {
            return Err(Error::State {
                what: "parameter list".into(),
                expected: format!("{} parameters, as at the first step", self.slots.len()),
                found: format!("{}", params.len()),
            });
        }
        let lr = self.learning_rate.at(self.iterations);
        let with_grad: Vec<usize> = (0..params.len())
            .filter(|&i| params[i].grad().defined())
            .collect();
        let grads = self
            .clipping
            .apply(with_grad.iter().map(|&i| params[i].grad()).collect())?;
        let step = self.iterations + 1;
        tch::no_grad(|| -> Result<()> {
            for (&i, g) in with_grad.iter().zip(grads.iter()) {
                let mut var = params[i].shallow_clone();
                if self.weight_decay > 0.0 {
                    let decay = var.f_mul_scalar(self.weight_decay * lr)?;
                    let _ = var.f_sub_(&decay)?;
                }
                let at = Step { lr, t: step };
                self.rule.update(&mut var, g, &mut self.slots[i], at)?;
            }
            Ok(())
        })?;
        self.iterations = step;
        Ok(())
    }

    fn state(&self) -> Result<Vec<(String, Tensor)>> {
        let names = self.rule.slot_names();
        let mut out = vec![(
            "iterations".to_string(),
            Tensor::from_slice(&[self.iterations as i64]),
        )];
        for (i, slots) in self.slots.iter().enumerate() {
            for (name, t) in names.iter().zip(slots) {
                out.push((format!("{name}_{i}"), t.shallow_clone()));
            }
        }
        Ok(out)
    }

    fn load_state(&mut self, params: &[Tensor], state: Vec<(String, Tensor)>) -> Result<()> {
        let mut map: std::collections::HashMap<String, Tensor> = state.into_iter().collect();
        let iterations = map.remove("iterations").ok_or_else(|| Error::State {
            what: "iterations".into(),
            expected: "an `iterations` entry".into(),
            found: "none".into(),
        })?;
        let iterations = iterations.f_int64_value(&[0])?.max(0) as u64;
        let names = self.rule.slot_names();
        let mut slots = Vec::with_capacity(params.len());
        if !map.is_empty() || iterations != 0 {
            for (i, p) in params.iter().enumerate() {
                let mut per = Vec::with_capacity(names.len());
                for name in &names {
                    let key = format!("{name}_{i}");
                    let t = map.remove(&key).ok_or_else(|| Error::State {
                        what: key.clone(),
                        expected: format!("a slot for parameter {i} of shape {:?}", p.size()),
                        found: "nothing".into(),
                    })?;
                    if t.size() != p.size() {
                        return Err(Error::State {
                            what: key,
                            expected: format!("shape {:?}", p.size()),
                            found: format!("shape {:?}", t.size()),
                        });
                    }
                    per.push(t.f_to_device(p.device())?.f_to_kind(p.kind())?.detach());
                }
                slots.push(per);
            }
            if let Some(extra) = map.keys().next() {
                return Err(Error::State {
                    what: extra.clone(),
                    expected: format!("only slots of {} parameters", params.len()),
                    found: "an extra entry".into(),
                });
            }
        }
        self.slots = if names.is_empty() && params.is_empty() {
            Vec::new()
        } else {
            slots
        };
        self.iterations = iterations;
        Ok(())
    }

    fn slot_names(&self) -> Vec<&'static str> {
        self.rule.slot_names()
    }

    fn config(&self) -> Value {
        let mut c = json!({
            "name": R::NAME,
            "learning_rate": self.learning_rate.config(),
            "weight_decay": if self.weight_decay > 0.0 { json!(self.weight_decay) } else { Value::Null },
        });
        let rule = serde_json::to_value(&self.rule).unwrap_or(Value::Null);
        if let (Value::Object(m), Value::Object(r)) = (&mut c, rule) {
            m.extend(r);
            if let Value::Object(clip) = self.clipping.config() {
                m.extend(clip);
            }
        }
        c
    }
}
