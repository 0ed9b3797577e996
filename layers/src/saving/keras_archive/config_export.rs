//! A convkit model as Keras 3's model configuration (`config.json` of a `.keras` archive):
//! the reverse of [`super::config_import`].
//!
//! A `Sequential` becomes Keras' `Sequential` whose first entry is an `InputLayer` with the
//! model's `batch_shape`; a `Functional` keeps its layers in their order (convkit orders
//! them as Keras' `model.layers`) and writes every call of a layer as one of its
//! `inbound_nodes`, whose arguments name the tensors they take by `keras_history`
//! (`[layer, call, 0]`); nested models are written inline, as Keras does.

use serde_json::{json, Value};

use super::layer_export::{float32_policy, keras_batch_shape, keras_layer};
use crate::layers::layer::Layer;
use crate::models::model::Model;
use crate::{Error, Result};

fn model_error(model: &dyn Model, problem: impl Into<String>) -> Error {
    Error::Model {
        model: model.name().to_string(),
        problem: problem.into(),
    }
}

/// Keras' entry (`{"module", "class_name", "config", ...}`) of `model`.
pub(crate) fn keras_model_entry(model: &dyn Model) -> Result<Value> {
    match model.class_name() {
        "Sequential" => sequential(model),
        "Functional" => functional(model),
        other => Err(model_error(
            model,
            format!("a {other} model cannot be written as Keras configuration"),
        )),
    }
}

/// Keras' entry of one layer of a model (a nested model inline).
fn layer_entry(layer: &dyn Layer, input_rank: Option<usize>) -> Result<Value> {
    if let Some(inner) = layer.as_model() {
        let mut entry = keras_model_entry(inner)?;
        entry["config"]["name"] = json!(layer.name());
        entry["config"]["trainable"] = json!(layer.trainable());
        return Ok(entry);
    }
    keras_layer(&layer.config(), input_rank)
}

/// A name for an input layer that no layer of `model` has.
fn free_input_name(model: &dyn Model) -> String {
    let names: Vec<&str> = model.layers().iter().map(|l| l.name()).collect();
    std::iter::once("input_layer".to_string())
        .chain((1..).map(|i| format!("input_layer_{i}")))
        .find(|n| !names.contains(&n.as_str()))
        .unwrap_or_default()
}

fn sequential(model: &dyn Model) -> Result<Value> {
    let shape = model.input_shape().ok_or_else(|| {
        model_error(
            model,
            "has no input shape; build it (or give its first layer an input shape) before \
             writing it as a .keras file",
        )
    })?;
    let batch_shape = keras_batch_shape(shape);
    let mut layers = vec![json!({
        "module": "keras.layers", "class_name": "InputLayer", "registered_name": null,
        "config": {"batch_shape": batch_shape, "dtype": "float32", "sparse": false,
                   "ragged": false, "name": free_input_name(model)},
    })];
    let mut rank = Some(shape.len() + 1);
    let shapes = model.layer_output_shapes();
    for (i, layer) in model.layers().into_iter().enumerate() {
        layers.push(layer_entry(layer, rank)?);
        rank = shapes.get(i).map(|s| s.len() + 1);
    }
    Ok(json!({
        "module": "keras", "class_name": "Sequential", "registered_name": null,
        "config": {"name": model.name(), "trainable": true, "dtype": float32_policy(),
                   "layers": layers, "build_input_shape": batch_shape},
        "build_config": {"input_shape": batch_shape},
    }))
}

/// One node of convkit's functional architecture JSON.
struct Node {
    layer: usize,
    inputs: Vec<usize>,
}

fn indices(value: Option<&Value>) -> Vec<usize> {
    value
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_u64)
                .map(|i| i as usize)
                .collect()
        })
        .unwrap_or_default()
}

fn functional(model: &dyn Model) -> Result<Value> {
    let arch = model.architecture();
    let config = &arch["config"];
    let nodes: Vec<Node> = config["nodes"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|n| Node {
                    layer: n["layer"].as_u64().unwrap_or(0) as usize,
                    inputs: indices(n.get("inputs")),
                })
                .collect()
        })
        .unwrap_or_default();
    let layers = model.layers();
    let shapes = model.layer_output_shapes();
    // (layer name, call index) of every node.
    let mut calls_seen = vec![0usize; layers.len()];
    let mut history = Vec::with_capacity(nodes.len());
    for node in &nodes {
        let layer = layers
            .get(node.layer)
            .ok_or_else(|| model_error(model, format!("a node names layer {}", node.layer)))?;
        history.push((layer.name().to_string(), calls_seen[node.layer]));
        calls_seen[node.layer] += 1;
    }
    let tensor = |n: usize| -> Value {
        let (name, call) = &history[n];
        let shape = shapes
            .get(nodes[n].layer)
            .map(|s| keras_batch_shape(s))
            .unwrap_or(Value::Null);
        json!({"class_name": "__keras_tensor__",
               "config": {"shape": shape, "dtype": "float32",
                          "keras_history": [name, call, 0]}})
    };
    let endpoint = |n: usize| -> Value {
        let (name, call) = &history[n];
        json!([name, call, 0])
    };
    let mut entries = Vec::with_capacity(layers.len());
    for (i, layer) in layers.iter().enumerate() {
        let mut inbound = Vec::new();
        let mut input_rank = None;
        for node in nodes
            .iter()
            .filter(|n| n.layer == i && !n.inputs.is_empty())
        {
            input_rank =
                input_rank.or_else(|| shapes.get(nodes[node.inputs[0]].layer).map(|s| s.len() + 1));
            let args = match node.inputs.as_slice() {
                [one] => json!([tensor(*one)]),
                many => json!([many.iter().map(|&j| tensor(j)).collect::<Vec<_>>()]),
            };
            inbound.push(json!({"args": args, "kwargs": {}}));
        }
        let mut entry = layer_entry(*layer, input_rank)?;
        entry["name"] = json!(layer.name());
        entry["inbound_nodes"] = Value::Array(inbound);
        entries.push(entry);
    }
    let ends = |key: &str| -> Value {
        match indices(config.get(key)).as_slice() {
            [one] => endpoint(*one),
            many => Value::Array(many.iter().map(|&n| endpoint(n)).collect()),
        }
    };
    Ok(json!({
        "module": "keras.src.models.functional", "class_name": "Functional",
        "registered_name": "Functional",
        "config": {"name": model.name(), "trainable": true, "layers": entries,
                   "input_layers": ends("inputs"), "output_layers": ends("outputs")},
        "build_config": {"input_shape": null},
    }))
}
