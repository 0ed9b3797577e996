//! Keras' `compile_config` (optimizer, loss, loss weights, metrics) and saved optimizer
//! variables, restored onto a convkit model so that `fit` continues where Keras stopped.

use serde_json::{json, Map, Value};

use crate::models::model::Model;
use crate::saving::h5::H5Reader;
use crate::saving::import::keras_layout::KerasLayouts;
use crate::training::losses::Loss;
use crate::training::metrics::Metric;
use crate::training::{compile, compile_outputs, OutputLoss};
use crate::{Error, Result};

fn compile_error(origin: &std::path::Path, what: &str, problem: impl std::fmt::Display) -> Error {
    Error::file(origin, format!("compile_config.{what}: {problem}"))
}

/// convkit's optimizer configuration of Keras' `{"class_name": "RMSprop", "config": ...}`.
fn optimizer_config(origin: &std::path::Path, entry: &Value) -> Result<Value> {
    let class = entry
        .get("class_name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let name = match class {
        "RMSprop" => "rmsprop",
        "Adam" => "adam",
        "AdamW" => "adamw",
        "SGD" => "sgd",
        other => {
            return Err(compile_error(
                origin,
                "optimizer",
                format!(
                    "optimizer class '{other}' is not one convkit has (RMSprop, Adam, AdamW, SGD)"
                ),
            ))
        }
    };
    let mut out = Map::new();
    out.insert("name".into(), json!(name));
    let given = entry
        .get("config")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (key, value) in given {
        let unsupported = |expected: &str| {
            Err(compile_error(
                origin,
                &format!("optimizer.{key}"),
                format!("{value} is not supported by convkit (expected {expected})"),
            ))
        };
        match key.as_str() {
            "name" | "ema_momentum" | "ema_overwrite_frequency" => {}
            "use_ema" if value != false => return unsupported("false"),
            "use_ema" => {}
            "loss_scale_factor" | "gradient_accumulation_steps" if !value.is_null() => {
                return unsupported("null")
            }
            "loss_scale_factor" | "gradient_accumulation_steps" => {}
            _ => {
                out.insert(key, value);
            }
        }
    }
    Ok(Value::Object(out))
}

/// A Keras loss (a name, or a loss object) as convkit's.
fn loss_of(origin: &std::path::Path, value: &Value) -> Result<Loss> {
    let bad = |p: String| compile_error(origin, "loss", p);
    match value {
        Value::String(name) => Loss::from_name(name).map_err(|e| bad(e.to_string())),
        Value::Object(_) => {
            let class = value
                .get("class_name")
                .and_then(Value::as_str)
                .unwrap_or("");
            let config = value.get("config").cloned().unwrap_or(Value::Null);
            if class == "function" {
                return loss_of(origin, &config);
            }
            if config
                .get("label_smoothing")
                .and_then(Value::as_f64)
                .unwrap_or(0.0)
                != 0.0
            {
                return Err(bad(format!("{class}: label_smoothing is not supported")));
            }
            let from_logits = config
                .get("from_logits")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            Ok(match class {
                "BinaryCrossentropy" => Loss::BinaryCrossentropy { from_logits },
                "CategoricalCrossentropy" => Loss::CategoricalCrossentropy { from_logits },
                "SparseCategoricalCrossentropy" => {
                    Loss::SparseCategoricalCrossentropy { from_logits }
                }
                "MeanSquaredError" => Loss::MeanSquaredError,
                "MeanAbsoluteError" => Loss::MeanAbsoluteError,
                other => return Err(bad(format!("loss class '{other}' is not one convkit has"))),
            })
        }
        other => Err(bad(format!("{other} is not a loss"))),
    }
}

fn metrics_of(origin: &std::path::Path, value: &Value) -> Result<Vec<Metric>> {
    let bad = |p: String| compile_error(origin, "metrics", p);
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items.clone(),
        one => vec![one.clone()],
    };
    items
        .iter()
        .map(|m| {
            let name = match m {
                Value::String(s) => s.clone(),
                _ => m
                    .pointer("/config/name")
                    .or_else(|| m.get("class_name"))
                    .and_then(Value::as_str)
                    .map(|s| s.to_string())
                    .ok_or_else(|| bad(format!("{m} is not a metric")))?,
            };
            Metric::from_name(&name).map_err(|e| bad(e.to_string()))
        })
        .collect()
}

/// One entry per output of a `loss`/`loss_weights`/`metrics` value that may be a list, a
/// dict by output name, or one value for all.
fn per_output(value: &Value, outputs: &[String]) -> Vec<Value> {
    match value {
        Value::Array(items) if items.len() == outputs.len() && outputs.len() > 1 => items.clone(),
        Value::Object(map) if outputs.iter().any(|o| map.contains_key(o)) => outputs
            .iter()
            .map(|o| map.get(o).cloned().unwrap_or(Value::Null))
            .collect(),
        other => vec![other.clone(); outputs.len()],
    }
}

/// Compiles `model` as Keras' `compile_config` says; `outputs` are the names of the model's
/// output layers (for dict-valued losses).
pub(crate) fn apply_compile_config(
    model: &mut dyn Model,
    origin: &std::path::Path,
    config: &Value,
    outputs: &[String],
) -> Result<()> {
    let optimizer_json = optimizer_config(origin, config.get("optimizer").unwrap_or(&Value::Null))?;
    let optimizer = convkit_optim::from_config(&optimizer_json)
        .map_err(|e| compile_error(origin, "optimizer", e))?;
    let loss = config.get("loss").cloned().unwrap_or(Value::Null);
    if loss.is_null() {
        return Err(compile_error(
            origin,
            "loss",
            "the model was compiled without a loss",
        ));
    }
    if outputs.len() <= 1 && !loss.is_array() {
        let metrics = metrics_of(origin, config.get("metrics").unwrap_or(&Value::Null))?;
        return compile(model, optimizer, loss_of(origin, &loss)?, &metrics);
    }
    let names: Vec<String> = if outputs.is_empty() {
        vec!["output".into()]
    } else {
        outputs.to_vec()
    };
    let losses = per_output(&loss, &names);
    let weights = per_output(config.get("loss_weights").unwrap_or(&Value::Null), &names);
    let metrics = match config.get("metrics") {
        Some(Value::Array(items)) if items.iter().all(|m| !m.is_array()) && names.len() > 1 => {
            vec![Value::Array(items.clone()); names.len()]
        }
        Some(m) => per_output(m, &names),
        None => vec![Value::Null; names.len()],
    };
    let mut specs = Vec::with_capacity(names.len());
    for ((l, w), m) in losses.iter().zip(&weights).zip(&metrics) {
        let weight = if w.is_null() {
            1.0
        } else {
            w.as_f64().ok_or_else(|| {
                compile_error(origin, "loss_weights", format!("{w} is not a number"))
            })?
        };
        specs.push(
            OutputLoss::new(loss_of(origin, l)?)
                .weight(weight)
                .metrics(&metrics_of(origin, m)?),
        );
    }
    compile_outputs(model, optimizer, specs)
}

/// The names of `model`'s trainable weights (`conv2d/kernel`), in the order its optimizer
/// receives them (Keras' `model.trainable_variables`).
pub(crate) fn trainable_weight_names(model: &dyn Model) -> Vec<String> {
    model
        .layers()
        .into_iter()
        .filter(|l| l.trainable())
        .flat_map(|l| {
            let layer = l.name().to_string();
            l.named_params()
                .into_iter()
                .filter(|(_, p)| p.trainable)
                .map(move |(n, _)| format!("{layer}/{n}"))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// How Keras' optimizer class `class` orders its slot variables: blocks of slots, each block
/// one variable after another (Adam interleaves momentum and velocity per variable; RMSprop
/// keeps each slot in a block of its own).
pub(crate) fn slot_blocks<'a>(class: &str, slots: &[&'a str]) -> Vec<Vec<&'a str>> {
    if matches!(class, "Adam" | "AdamW") && slots.len() >= 2 {
        let mut b = vec![slots[..2].to_vec()];
        b.extend(slots[2..].iter().map(|s| vec![*s]));
        b
    } else {
        slots.iter().map(|s| vec![*s]).collect()
    }
}

/// Restores the optimizer variables Keras saved (`optimizer/vars/<i>`: the iteration count,
/// the learning rate when it is a number, then the slots in Keras' order) into the compiled
/// `model`'s optimizer. A file whose optimizer was never built (no slots) leaves a fresh
/// optimizer.
pub(crate) fn restore_optimizer(
    model: &mut dyn Model,
    h5: &H5Reader,
    config: &Value,
) -> Result<()> {
    let group = "optimizer/vars";
    if !h5.has_group(group) {
        return Ok(());
    }
    let count = h5.datasets(group)?.len();
    let lr_is_variable = config
        .pointer("/optimizer/config/learning_rate")
        .is_some_and(Value::is_number);
    let head = if lr_is_variable { 2 } else { 1 };
    let layouts = KerasLayouts::of(model);
    let names = trainable_weight_names(model);
    let compiled = model
        .compiled_mut()
        .ok_or_else(|| Error::file(h5.path(), "the model is not compiled"))?;
    let class = config
        .pointer("/optimizer/class_name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let slots: Vec<&str> = compiled.optimizer.slot_names();
    let blocks = slot_blocks(class, &slots);
    if count <= head {
        return Ok(());
    }
    let expected = head + slots.len() * names.len();
    if count != expected {
        return Err(Error::file(
            h5.path(),
            format!(
                "{group}: {count} optimizer variables, expected {expected} ({head} + {} slot(s) \
                 for each of {} trainable weights)",
                slots.len(),
                names.len()
            ),
        ));
    }
    let iterations = h5.scalar(&format!("{group}/0"))?;
    let mut state = vec![(
        "iterations".to_string(),
        convkit_tensor::tch::Tensor::from_slice(&[iterations.max(0.0) as i64]),
    )];
    let mut index = head;
    for block in &blocks {
        for (i, name) in names.iter().enumerate() {
            for slot in block {
                let t = h5.tensor(&format!("{group}/{index}"))?;
                let t = layouts.layout(name).apply(&t)?;
                state.push((format!("{slot}_{i}"), t));
                index += 1;
            }
        }
    }
    let trainable: Vec<_> = compiled
        .trainable
        .iter()
        .map(|t| t.shallow_clone())
        .collect();
    compiled
        .optimizer
        .load_state(&trainable, state)
        .map_err(|e| Error::file(h5.path(), format!("{group}: {e}")))
}
