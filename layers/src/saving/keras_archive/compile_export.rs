//! A compiled convkit model's optimizer, losses, loss weights and metrics as Keras'
//! `compile_config`: the reverse of [`super::compile_import`].

use serde_json::{json, Map, Value};

use crate::models::model::Model;
use crate::training::losses::Loss;
use crate::training::metrics::Metric;
use crate::{Error, Result};

/// Keras' class of a convkit optimizer name.
pub(crate) fn keras_optimizer_class(name: &str) -> Option<&'static str> {
    Some(match name {
        "rmsprop" => "RMSprop",
        "adam" => "Adam",
        "adamw" => "AdamW",
        "sgd" => "SGD",
        _ => return None,
    })
}

fn export_error(model: &dyn Model, what: &str, problem: impl std::fmt::Display) -> Error {
    Error::Model {
        model: model.name().to_string(),
        problem: format!("compile_config.{what}: {problem}"),
    }
}

/// Keras' optimizer entry of convkit's optimizer configuration, with `learning_rate` the
/// current rate (what Keras' `get_config` reads from its variable).
fn optimizer_entry(model: &dyn Model, config: &Value, current_lr: f64) -> Result<Value> {
    let name = config.get("name").and_then(Value::as_str).unwrap_or("");
    let class = keras_optimizer_class(name).ok_or_else(|| {
        export_error(
            model,
            "optimizer",
            format!("optimizer '{name}' has no Keras equivalent"),
        )
    })?;
    let mut out = Map::new();
    for (key, default) in [
        ("clipnorm", Value::Null),
        ("global_clipnorm", Value::Null),
        ("clipvalue", Value::Null),
        ("use_ema", json!(false)),
        ("ema_momentum", json!(0.99)),
        ("ema_overwrite_frequency", Value::Null),
        ("loss_scale_factor", Value::Null),
        ("gradient_accumulation_steps", Value::Null),
    ] {
        out.insert(key.into(), default);
    }
    for (key, value) in config.as_object().cloned().unwrap_or_default() {
        out.insert(key, value);
    }
    match out.get("learning_rate") {
        Some(Value::Object(schedule)) => {
            let mut schedule = schedule.clone();
            schedule.insert("module".into(), json!("keras.optimizers.schedules"));
            schedule.insert("registered_name".into(), Value::Null);
            out.insert("learning_rate".into(), Value::Object(schedule));
        }
        _ => {
            out.insert("learning_rate".into(), json!(current_lr));
        }
    }
    Ok(json!({"module": "keras.optimizers", "class_name": class,
              "config": Value::Object(out), "registered_name": null}))
}

/// Keras' form of a convkit loss: its name, or a loss object when it takes logits.
fn loss_entry(loss: &Loss) -> Value {
    let (class, from_logits) = match loss {
        Loss::BinaryCrossentropy { from_logits } => ("BinaryCrossentropy", *from_logits),
        Loss::CategoricalCrossentropy { from_logits } => ("CategoricalCrossentropy", *from_logits),
        Loss::SparseCategoricalCrossentropy { from_logits } => {
            ("SparseCategoricalCrossentropy", *from_logits)
        }
        Loss::MeanSquaredError | Loss::MeanAbsoluteError => ("", false),
    };
    let name = serde_json::to_value(loss)
        .ok()
        .and_then(|v| v.get("name").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default();
    if !from_logits {
        return json!(name);
    }
    json!({"module": "keras.losses", "class_name": class, "registered_name": null,
           "config": {"name": name, "reduction": "sum_over_batch_size", "from_logits": true}})
}

/// Keras' form of a convkit metric: its name, or a top-k object when `k` is not 5.
fn metric_entry(metric: &Metric) -> Value {
    match metric {
        Metric::TopKCategoricalAccuracy(k) if *k != 5 => json!({
            "module": "keras.metrics", "class_name": "TopKCategoricalAccuracy",
            "registered_name": null, "config": {"name": metric.name(), "k": k}}),
        Metric::SparseTopKCategoricalAccuracy(k) if *k != 5 => json!({
            "module": "keras.metrics", "class_name": "SparseTopKCategoricalAccuracy",
            "registered_name": null, "config": {"name": metric.name(), "k": k}}),
        m => json!(m.name()),
    }
}

/// Keras' `compile_config` of `model`, `None` when it is not compiled.
pub(crate) fn keras_compile_config(model: &dyn Model) -> Result<Option<Value>> {
    let Some(compiled) = model.compiled() else {
        return Ok(None);
    };
    let optimizer = optimizer_entry(
        model,
        &compiled.optimizer.config(),
        compiled.optimizer.learning_rate(),
    )?;
    let metrics = |o: &crate::training::compiled::CompiledOutput| -> Value {
        Value::Array(o.requested_metrics.iter().map(metric_entry).collect())
    };
    let (loss, loss_weights, metrics) = match compiled.outputs.as_slice() {
        [one] => (loss_entry(&one.loss), Value::Null, metrics(one)),
        many => (
            Value::Array(many.iter().map(|o| loss_entry(&o.loss)).collect()),
            Value::Array(many.iter().map(|o| json!(o.weight)).collect()),
            Value::Array(many.iter().map(metrics).collect()),
        ),
    };
    Ok(Some(json!({
        "optimizer": optimizer, "loss": loss, "loss_weights": loss_weights,
        "metrics": metrics, "weighted_metrics": null, "run_eagerly": false,
        "steps_per_execution": 1, "jit_compile": false,
    })))
}
