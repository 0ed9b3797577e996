//! Optimizers by name (`"rmsprop"`) or from a saved configuration.

use serde_json::Value;

use crate::{
    AdamRule, AdamWRule, Clipping, CosineDecay, Error, ExponentialDecay, KerasOptimizer, Optimizer,
    RMSpropRule, Result, SgdRule, StepDecay, UpdateRule,
};

/// The names [`from_name`] knows.
pub const NAMES: &[&str] = &["sgd", "rmsprop", "adam", "adamw"];

/// An optimizer with Keras' defaults by name (`"rmsprop"`, any case), with an optional
/// learning rate.
pub fn from_name(name: &str, learning_rate: Option<f64>) -> Result<Box<dyn Optimizer>> {
    // JSON has no NaN or infinity: serialised, they would become null, the default rate.
    if let Some(lr) = learning_rate.filter(|lr| !(lr.is_finite() && *lr > 0.0)) {
        return Err(Error::Option {
            optimizer: name.to_ascii_lowercase(),
            option: "learning_rate".into(),
            problem: format!("must be a finite number > 0, got {lr}"),
        });
    }
    let cfg =
        serde_json::json!({"name": name.to_ascii_lowercase(), "learning_rate": learning_rate});
    from_config(&cfg)
}

/// Rebuilds an optimizer from [`Optimizer::config`] (name, learning rate or schedule, rule
/// options, clipping, weight decay). Missing options take Keras' defaults.
pub fn from_config(cfg: &Value) -> Result<Box<dyn Optimizer>> {
    match cfg.get("name").and_then(Value::as_str).unwrap_or("") {
        "sgd" => built::<SgdRule>(cfg),
        "rmsprop" => built::<RMSpropRule>(cfg),
        "adam" => built::<AdamRule>(cfg),
        "adamw" => built::<AdamWRule>(cfg),
        other => Err(Error::Option {
            optimizer: other.into(),
            option: "name".into(),
            problem: format!("unknown optimizer; expected one of {}", NAMES.join(", ")),
        }),
    }
}

/// The optimizer of rule `R` that `cfg` describes.
fn built<R: UpdateRule>(cfg: &Value) -> Result<Box<dyn Optimizer>> {
    let rule: R = serde_json::from_value(cfg.clone()).map_err(|e| Error::Option {
        optimizer: R::NAME.into(),
        option: "config".into(),
        problem: e.to_string(),
    })?;
    rule.validate()?;
    let f = |k: &str| cfg.get(k).and_then(Value::as_f64);
    let mut opt = KerasOptimizer::from_rule(rule).clipping(if let Some(v) = f("clipnorm") {
        Clipping::Norm(v)
    } else if let Some(v) = f("global_clipnorm") {
        Clipping::GlobalNorm(v)
    } else if let Some(v) = f("clipvalue") {
        Clipping::Value(v)
    } else {
        Clipping::None
    });
    if let Some(wd) = f("weight_decay") {
        opt = opt.weight_decay(wd);
    }
    let lr = cfg.get("learning_rate").unwrap_or(&Value::Null);
    Ok(Box::new(with_learning_rate(opt, lr)?))
}

/// `opt` with the learning rate or schedule `lr` (`null` keeps the default).
fn with_learning_rate<R: UpdateRule>(
    opt: KerasOptimizer<R>,
    lr: &Value,
) -> Result<KerasOptimizer<R>> {
    match lr {
        Value::Null => Ok(opt),
        Value::Number(n) => Ok(opt.learning_rate(n.as_f64().unwrap_or(0.0))),
        Value::Object(_) => {
            let class = lr.get("class_name").and_then(Value::as_str).unwrap_or("");
            let c = lr.get("config").cloned().unwrap_or(Value::Null);
            let g = |k: &str| c.get(k).and_then(Value::as_f64).unwrap_or(0.0);
            let u = |k: &str| c.get(k).and_then(Value::as_u64).unwrap_or(1);
            Ok(match class {
                "ExponentialDecay" => opt.schedule(ExponentialDecay {
                    initial_learning_rate: g("initial_learning_rate"),
                    decay_steps: u("decay_steps"),
                    decay_rate: g("decay_rate"),
                    staircase: c.get("staircase").and_then(Value::as_bool).unwrap_or(false),
                }),
                "StepDecay" => opt.schedule(StepDecay {
                    initial_learning_rate: g("initial_learning_rate"),
                    step_size: u("step_size"),
                    gamma: g("gamma"),
                }),
                "CosineDecay" => opt.schedule(CosineDecay {
                    initial_learning_rate: g("initial_learning_rate"),
                    decay_steps: u("decay_steps"),
                    alpha: g("alpha"),
                }),
                other => {
                    return Err(Error::Option {
                        optimizer: "schedule".into(),
                        option: "class_name".into(),
                        problem: format!("unknown schedule '{other}'"),
                    })
                }
            })
        }
        other => Err(Error::Option {
            optimizer: "optimizer".into(),
            option: "learning_rate".into(),
            problem: format!("expected a number or a schedule, got {other}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_configs_round_trip() {
        let o = from_name("RMSprop", None).unwrap();
        assert_eq!(o.name(), "rmsprop");
        assert_eq!(o.learning_rate(), 1e-3);
        let s = from_name("sgd", Some(0.5)).unwrap();
        assert_eq!(s.learning_rate(), 0.5);
        let w = from_name("adamw", None).unwrap();
        let back = from_config(&w.config()).unwrap();
        assert_eq!(back.config(), w.config());
        let e = from_name("adagrad", None).err().unwrap().to_string();
        assert!(e.contains("sgd, rmsprop, adam, adamw"), "{e}");
    }

    #[test]
    fn a_learning_rate_that_is_not_finite_is_refused_not_replaced() {
        for lr in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let e = from_name("rmsprop", Some(lr)).err().unwrap().to_string();
            assert!(
                e.contains("learning_rate") && e.contains("finite"),
                "{lr}: {e}"
            );
        }
        assert!(from_name("rmsprop", Some(-1.0)).is_err());
    }
}
