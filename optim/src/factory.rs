//! Optimizers by name (`"rmsprop"`) or from a saved configuration.

use serde_json::Value;

use crate::{
    Adam, AdamW, Clipping, CosineDecay, Error, ExponentialDecay, Optimizer, RMSprop, Result,
    StepDecay, UpdateRule, SGD,
};

/// The names [`from_name`] knows.
pub const NAMES: &[&str] = &["sgd", "rmsprop", "adam", "adamw"];

/// An optimizer with Keras' defaults by name, with an optional learning rate.
pub fn from_name(name: &str, learning_rate: Option<f64>) -> Result<Box<dyn Optimizer>> {
    let cfg =
        serde_json::json!({"name": name.to_ascii_lowercase(), "learning_rate": learning_rate});
    from_config(&cfg)
}

/// Rebuilds an optimizer from [`Optimizer::config`] (name, learning rate or schedule, rule
/// options, clipping, weight decay). Missing options take Keras' defaults.
pub fn from_config(cfg: &Value) -> Result<Box<dyn Optimizer>> {
    let name = cfg.get("name").and_then(Value::as_str).unwrap_or("");
    let f = |k: &str| cfg.get(k).and_then(Value::as_f64);
    let b = |k: &str| cfg.get(k).and_then(Value::as_bool);
    let lr = cfg.get("learning_rate").cloned().unwrap_or(Value::Null);
    let clip = if let Some(v) = f("clipnorm") {
        Clipping::Norm(v)
    } else if let Some(v) = f("global_clipnorm") {
        Clipping::GlobalNorm(v)
    } else if let Some(v) = f("clipvalue") {
        Clipping::Value(v)
    } else {
        Clipping::None
    };
    fn finish<R: UpdateRule>(
        rule: R,
        lr: &Value,
        clip: Clipping,
        wd: Option<f64>,
    ) -> Result<Box<dyn Optimizer>> {
        let mut opt = rule.build().with_clipping(clip);
        match lr {
            Value::Null => {}
            Value::Number(n) => opt = opt.with_learning_rate(n.as_f64().unwrap_or(0.0)),
            Value::Object(_) => {
                let class = lr.get("class_name").and_then(Value::as_str).unwrap_or("");
                let c = lr.get("config").cloned().unwrap_or(Value::Null);
                let g = |k: &str| c.get(k).and_then(Value::as_f64).unwrap_or(0.0);
                let u = |k: &str| c.get(k).and_then(Value::as_u64).unwrap_or(1);
                opt = match class {
                    "ExponentialDecay" => opt.with_schedule(ExponentialDecay {
                        initial_learning_rate: g("initial_learning_rate"),
                        decay_steps: u("decay_steps"),
                        decay_rate: g("decay_rate"),
                        staircase: c.get("staircase").and_then(Value::as_bool).unwrap_or(false),
                    }),
                    "StepDecay" => opt.with_schedule(StepDecay {
                        initial_learning_rate: g("initial_learning_rate"),
                        step_size: u("step_size"),
                        gamma: g("gamma"),
                    }),
                    "CosineDecay" => opt.with_schedule(CosineDecay {
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
                };
            }
            other => {
                return Err(Error::Option {
                    optimizer: "optimizer".into(),
                    option: "learning_rate".into(),
                    problem: format!("expected a number or a schedule, got {other}"),
                })
            }
        }
        if let Some(wd) = wd {
            opt = opt.with_weight_decay(wd);
        }
        opt.rule().validate()?;
        Ok(Box::new(opt))
    }
    let wd = f("weight_decay");
    let adam = || {
        let d = Adam::default();
        Adam {
            beta_1: f("beta_1").unwrap_or(d.beta_1),
            beta_2: f("beta_2").unwrap_or(d.beta_2),
            epsilon: f("epsilon").unwrap_or(d.epsilon),
            amsgrad: b("amsgrad").unwrap_or(false),
        }
    };
    match name {
        "sgd" => finish(
            SGD {
                momentum: f("momentum").unwrap_or(0.0),
                nesterov: b("nesterov").unwrap_or(false),
            },
            &lr,
            clip,
            wd,
        ),
        "rmsprop" => {
            let d = RMSprop::default();
            let r = RMSprop {
                rho: f("rho").unwrap_or(d.rho),
                momentum: f("momentum").unwrap_or(0.0),
                epsilon: f("epsilon").unwrap_or(d.epsilon),
                centered: b("centered").unwrap_or(false),
            };
            finish(r, &lr, clip, wd)
        }
        "adam" => finish(adam(), &lr, clip, wd),
        "adamw" => finish(AdamW { adam: adam() }, &lr, clip, wd),
        other => Err(Error::Option {
            optimizer: other.into(),
            option: "name".into(),
            problem: format!("unknown optimizer; expected one of {}", NAMES.join(", ")),
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
}
