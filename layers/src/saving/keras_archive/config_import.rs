//! Keras 3's model configuration (`config.json` of a `.keras` archive) as convkit's
//! architecture JSON, which [`crate::models::model_from_architecture`] builds.
//!
//! A `Sequential` keeps its layers (its `InputLayer` becomes the input shape); a
//! `Functional` becomes convkit's layer list and call graph: every entry of a layer's
//! `inbound_nodes` is one call, its `args` name the tensors it takes by `keras_history`
//! (`[layer, call, tensor]`), so shared layers and nested models (a `Sequential` or
//! `Functional` entry) come out as they went in.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::layer_args::{check_class, input_shape, layer_config};
use crate::layers::layer::LayerConfig;
use crate::{Error, Result};

fn model_error(model: &str, problem: impl Into<String>) -> Error {
    Error::Model {
        model: model.to_string(),
        problem: problem.into(),
    }
}

/// convkit's architecture JSON of a Keras model entry (`{"class_name": "Functional", ...}`).
pub(crate) fn architecture(entry: &Value) -> Result<Value> {
    let class = check_class(entry)?;
    let config = entry.get("config").cloned().unwrap_or(Value::Null);
    let name = config
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or(class)
        .to_string();
    match class {
        "Sequential" => sequential(&name, &config, entry),
        "Functional" | "Model" => functional(&name, &config),
        other => Err(model_error(
            &name,
            format!("unsupported model class '{other}'; expected Sequential or Functional"),
        )),
    }
}

fn layers_of<'a>(name: &str, config: &'a Value) -> Result<&'a Vec<Value>> {
    config
        .get("layers")
        .and_then(Value::as_array)
        .ok_or_else(|| model_error(name, "the configuration has no `layers` list"))
}

/// One layer entry as convkit's layer configuration (a nested model as a `Model` layer).
fn layer_entry(entry: &Value, input_rank: Option<usize>) -> Result<LayerConfig> {
    let class = check_class(entry)?;
    if matches!(class, "Sequential" | "Functional" | "Model") {
        let config = entry.get("config").cloned().unwrap_or(Value::Null);
        let name = config.get("name").cloned().unwrap_or(json!(class));
        let trainable = config.get("trainable").cloned().unwrap_or(json!(true));
        return Ok(LayerConfig {
            class_name: "Model".into(),
            config: json!({"name": name, "trainable": trainable,
                           "architecture": architecture(entry)?}),
        });
    }
    layer_config(entry, input_rank)
}

fn sequential(name: &str, config: &Value, entry: &Value) -> Result<Value> {
    let mut shape = None;
    let mut layers = Vec::new();
    for layer in layers_of(name, config)? {
        if layer.get("class_name").and_then(Value::as_str) == Some("InputLayer") {
            let converted = layer_config(layer, None)?;
            shape = converted.config.get("shape").cloned();
            continue;
        }
        layers.push(layer_entry(layer, None)?);
    }
    let shape = shape.or_else(|| {
        [
            config.get("build_input_shape"),
            entry.pointer("/build_config/input_shape"),
        ]
        .into_iter()
        .flatten()
        .find_map(|s| input_shape(s).map(|s| json!(s)))
    });
    Ok(json!({"class_name": "Sequential",
              "config": {"name": name, "input_shape": shape, "layers": layers}}))
}

/// A tensor reference of a call's arguments: `(layer, call, tensor)` and its rank.
struct TensorRef {
    layer: String,
    call: usize,
    tensor: usize,
    rank: Option<usize>,
}

/// The Keras tensors in `args` (a tensor, or lists of them), in order.
fn tensor_refs(args: &Value, out: &mut Vec<TensorRef>) {
    match args {
        Value::Array(items) => items.iter().for_each(|a| tensor_refs(a, out)),
        Value::Object(_) if args.get("class_name") == Some(&json!("__keras_tensor__")) => {
            let history = args.pointer("/config/keras_history");
            let part = |i: usize| history.and_then(|h| h.get(i));
            if let (Some(layer), Some(call), Some(tensor)) = (
                part(0).and_then(Value::as_str),
                part(1).and_then(Value::as_u64),
                part(2).and_then(Value::as_u64),
            ) {
                out.push(TensorRef {
                    layer: layer.to_string(),
                    call: call as usize,
                    tensor: tensor as usize,
                    rank: args
                        .pointer("/config/shape")
                        .and_then(Value::as_array)
                        .map(Vec::len),
                });
            }
        }
        _ => {}
    }
}

/// `["name", 0, 0]` or a list of them.
fn endpoint_list(value: &Value) -> Vec<(String, usize, usize)> {
    let one = |v: &Value| -> Option<(String, usize, usize)> {
        Some((
            v.get(0)?.as_str()?.to_string(),
            v.get(1)?.as_u64()? as usize,
            v.get(2)?.as_u64()? as usize,
        ))
    };
    match one(value) {
        Some(e) => vec![e],
        None => value
            .as_array()
            .map(|items| items.iter().filter_map(one).collect())
            .unwrap_or_default(),
    }
}

fn functional(name: &str, config: &Value) -> Result<Value> {
    let entries = layers_of(name, config)?;
    let mut layers = Vec::with_capacity(entries.len());
    let mut nodes: Vec<Value> = Vec::new();
    // (layer name, call index) -> node index.
    let mut node_of: HashMap<(String, usize), usize> = HashMap::new();
    // Calls whose inputs are resolved once every node is numbered.
    let mut pending: Vec<(usize, String, Vec<TensorRef>)> = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let layer_name = entry
            .get("name")
            .or_else(|| entry.pointer("/config/name"))
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        let calls = entry
            .get("inbound_nodes")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut first_rank = None;
        let mut call_refs = Vec::new();
        for call in &calls {
            // A recorded `training` flag is overridden by the model's own call in Keras
            // (`functional.operation_fn`), as it is in convkit.
            if let Some(kwargs) = call.get("kwargs").and_then(Value::as_object) {
                let other = kwargs
                    .iter()
                    .find(|(k, v)| *k != "training" && !v.is_null());
                if let Some((k, v)) = other {
                    return Err(Error::Config {
                        layer: layer_name,
                        class: entry
                            .get("class_name")
                            .and_then(Value::as_str)
                            .unwrap_or("?")
                            .into(),
                        problem: format!(
                            "the layer is called with the keyword argument {k}={v}, which \
                             convkit does not support"
                        ),
                    });
                }
            }
            let mut refs = Vec::new();
            tensor_refs(call.get("args").unwrap_or(&Value::Null), &mut refs);
            first_rank = first_rank.or_else(|| refs.first().and_then(|r| r.rank));
            call_refs.push(refs);
        }
        layers.push(layer_entry(entry, first_rank)?);
        if calls.is_empty() {
            node_of.insert((layer_name.clone(), 0), nodes.len());
            nodes.push(json!({"layer": index, "inputs": []}));
        }
        for (call, refs) in call_refs.into_iter().enumerate() {
            node_of.insert((layer_name.clone(), call), nodes.len());
            nodes.push(json!({"layer": index, "inputs": []}));
            pending.push((nodes.len() - 1, layer_name.clone(), refs));
        }
    }
    let resolve = |layer: &str, call: usize, tensor: usize| -> Result<usize> {
        if tensor != 0 {
            return Err(model_error(
                name,
                format!("output {tensor} of '{layer}' is used; convkit's layers have one output"),
            ));
        }
        node_of
            .get(&(layer.to_string(), call))
            .copied()
            .ok_or_else(|| {
                model_error(
                    name,
                    format!(
                        "a call refers to call {call} of layer '{layer}', which does not exist"
                    ),
                )
            })
    };
    for (node, layer, refs) in pending {
        if refs.is_empty() {
            return Err(model_error(
                name,
                format!("a call of '{layer}' has no inputs"),
            ));
        }
        let inputs: Vec<usize> = refs
            .iter()
            .map(|r| resolve(&r.layer, r.call, r.tensor))
            .collect::<Result<_>>()?;
        nodes[node]["inputs"] = json!(inputs);
    }
    let ends = |key: &str| -> Result<Vec<usize>> {
        let list = endpoint_list(config.get(key).unwrap_or(&Value::Null));
        if list.is_empty() {
            return Err(model_error(
                name,
                format!("the configuration has no `{key}`"),
            ));
        }
        list.iter().map(|(l, c, t)| resolve(l, *c, *t)).collect()
    };
    Ok(json!({"class_name": "Functional", "config": {
        "name": name, "layers": layers, "nodes": nodes,
        "inputs": ends("input_layers")?, "outputs": ends("output_layers")?,
    }}))
}
