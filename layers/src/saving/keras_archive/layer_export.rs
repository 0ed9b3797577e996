//! One convkit layer configuration ([`LayerConfig`]) as Keras 3's (`{"module":
//! "keras.layers", "class_name": "Conv2D", "config": {...}}`): the reverse of
//! [`super::layer_args`].
//!
//! convkit's layers take Keras' argument names, so most arguments pass as they are. What
//! differs is written in Keras' form: the `float32` dtype policy and `channels_last` data
//! format made explicit (a user's `keras.json` may say otherwise), an `InputLayer`'s
//! channels-first `shape` as Keras' `batch_shape (None, H, W, C)`, a `Concatenate` axis mapped
//! from channels-first to channels-last by the rank of its inputs, initializers and
//! regularizers as Keras objects. convkit's own `input_shape` (channels-first, the first layer
//! of a `Sequential`) is left out: Keras' model gets its shape from its `InputLayer`.

use serde_json::{json, Map, Value};

use crate::layers::layer::LayerConfig;
use crate::{Error, Result};

/// Classes whose Keras constructor takes `data_format`.
const CHANNELS_LAST_CLASSES: [&str; 17] = [
    "AveragePooling2D",
    "Conv2D",
    "Conv2DTranspose",
    "DepthwiseConv2D",
    "Flatten",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling2D",
    "MaxPooling2D",
    "RandomContrast",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "Resizing",
    "SeparableConv2D",
    "UpSampling2D",
    "ZeroPadding2D",
];

/// The `dtype` entry of a layer: Keras' `DTypePolicy` named `name` (`float32`,
/// `mixed_bfloat16`, `mixed_float16`).
pub(crate) fn dtype_policy(name: &str) -> Value {
    json!({"module": "keras", "class_name": "DTypePolicy",
           "config": {"name": name}, "registered_name": null})
}

/// Keras' `float32` policy.
pub(crate) fn float32_policy() -> Value {
    dtype_policy("float32")
}

/// A Keras object entry (`{"module", "class_name", "config", "registered_name"}`).
fn keras_object(module: &str, class: &str, config: Value) -> Value {
    json!({"module": module, "class_name": class, "config": config, "registered_name": null})
}

fn export_error(config: &LayerConfig, problem: String) -> Error {
    Error::Config {
        layer: config
            .config
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string(),
        class: config.class_name.clone(),
        problem,
    }
}

/// convkit's `[C, H, W]` (or `[features]`) as Keras' `[null, H, W, C]` (`[null, features]`).
pub(crate) fn keras_batch_shape(shape: &[i64]) -> Value {
    let dims: Vec<i64> = match shape {
        [c, h, w] => vec![*h, *w, *c],
        other => other.to_vec(),
    };
    let mut out = vec![Value::Null];
    out.extend(dims.into_iter().map(|d| json!(d)));
    Value::Array(out)
}

/// A channels-first axis of a rank-`rank` tensor (batch included) as the channels-last one
/// (the inverse of `layer_args::channels_first_axis`).
fn channels_last_axis(axis: i64, rank: usize) -> i64 {
    let axis = axis.rem_euclid(rank.max(1) as i64);
    if rank != 4 {
        return axis;
    }
    match axis {
        1 => 3,
        2 => 1,
        3 => 2,
        a => a,
    }
}

/// convkit's initializer (`"glorot_uniform"`, `{"constant": v}`, `{"random_normal": {..}}`)
/// as a Keras object.
fn initializer(value: &Value) -> std::result::Result<Value, String> {
    const MODULE: &str = "keras.initializers";
    let camel = |name: &str| -> String {
        name.split('_')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            })
            .collect()
    };
    match value {
        Value::String(name) => {
            let config = match name.as_str() {
                "zeros" | "ones" => json!({}),
                _ => json!({"seed": null}),
            };
            Ok(keras_object(MODULE, &camel(name), config))
        }
        Value::Object(map) if map.len() == 1 => {
            let Some((name, args)) = map.iter().next() else {
                return Err(format!("initializer {value} has no Keras equivalent"));
            };
            let config = match (name.as_str(), args) {
                ("constant", v) => json!({"value": v}),
                ("random_normal", Value::Object(a)) => {
                    json!({"mean": a.get("mean"), "stddev": a.get("stddev"), "seed": null})
                }
                ("random_uniform", Value::Object(a)) => {
                    json!({"minval": a.get("minval"), "maxval": a.get("maxval"), "seed": null})
                }
                _ => return Err(format!("initializer {value} has no Keras equivalent")),
            };
            Ok(keras_object(MODULE, &camel(name), config))
        }
        other => Err(format!("initializer {other} has no Keras equivalent")),
    }
}

/// convkit's regularizer (`null`, `{"l2": x}`, `{"l1_l2": {..}}`) as a Keras object.
fn regularizer(value: &Value) -> std::result::Result<Value, String> {
    const MODULE: &str = "keras.regularizers";
    let Value::Object(map) = value else {
        return match value {
            Value::Null => Ok(Value::Null),
            other => Err(format!("regularizer {other} has no Keras equivalent")),
        };
    };
    match map.iter().next() {
        Some((k, v)) if map.len() == 1 && k == "l1" => {
            Ok(keras_object(MODULE, "L1", json!({"l1": v})))
        }
        Some((k, v)) if map.len() == 1 && k == "l2" => {
            Ok(keras_object(MODULE, "L2", json!({"l2": v})))
        }
        Some((k, Value::Object(a))) if map.len() == 1 && k == "l1_l2" => Ok(keras_object(
            MODULE,
            "L1L2",
            json!({"l1": a.get("l1").cloned().unwrap_or(json!(0.0)),
                   "l2": a.get("l2").cloned().unwrap_or(json!(0.0))}),
        )),
        _ => Err(format!("regularizer {value} has no Keras equivalent")),
    }
}

/// Keras' entry of convkit layer `config`. `input_rank` is the rank (batch included) of the
/// layer's first input, which maps a `Concatenate` axis.
pub(crate) fn keras_layer(config: &LayerConfig, input_rank: Option<usize>) -> Result<Value> {
    let class = config.class_name.as_str();
    let given = config.config.as_object().cloned().unwrap_or_default();
    let mut out = Map::new();
    for (key, value) in given {
        let fail = |e: String| export_error(config, format!("argument '{key}': {e}"));
        match key.as_str() {
            "input_shape" => {}
            "shape" if class == "InputLayer" => {
                let dims: Vec<i64> = serde_json::from_value(value.clone())
                    .map_err(|e| fail(format!("{value} is not a shape: {e}")))?;
                out.insert("batch_shape".into(), keras_batch_shape(&dims));
            }
            "axis" if class == "Concatenate" => {
                let axis = value
                    .as_i64()
                    .ok_or_else(|| fail(format!("{value} is not an integer axis")))?;
                let rank = input_rank.unwrap_or(4);
                out.insert(key, json!(channels_last_axis(axis, rank)));
            }
            k if k.ends_with("_initializer") => {
                out.insert(key.clone(), initializer(&value).map_err(fail)?);
            }
            k if k.ends_with("_regularizer") => {
                out.insert(key.clone(), regularizer(&value).map_err(fail)?);
            }
            _ => {
                out.insert(key, value);
            }
        }
    }
    // convkit's config names a mixed-precision policy as a string (absent: float32).
    let policy = out
        .get("dtype")
        .and_then(Value::as_str)
        .unwrap_or("float32")
        .to_string();
    if class == "InputLayer" {
        out.insert("dtype".into(), json!("float32"));
        out.insert("sparse".into(), json!(false));
        out.insert("ragged".into(), json!(false));
        out.remove("trainable");
    } else {
        out.insert("dtype".into(), dtype_policy(&policy));
    }
    if CHANNELS_LAST_CLASSES.contains(&class) {
        out.insert("data_format".into(), json!("channels_last"));
    }
    if class == "BatchNormalization" {
        out.insert("axis".into(), json!(-1));
    }
    Ok(json!({"module": "keras.layers", "class_name": class,
              "config": Value::Object(out), "registered_name": null}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_map_back_to_channels_last() {
        // Inverse of layer_args::channels_first_axis for rank 4: NCHW 1 (C) is NHWC 3.
        assert_eq!(channels_last_axis(1, 4), 3);
        assert_eq!(channels_last_axis(-3, 4), 3);
        assert_eq!(channels_last_axis(2, 4), 1);
        assert_eq!(channels_last_axis(3, 4), 2);
        assert_eq!(channels_last_axis(1, 2), 1);
        assert_eq!(channels_last_axis(-1, 2), 1);
    }

    #[test]
    fn initializers_and_regularizers_become_keras_objects() {
        let he = initializer(&json!("he_normal")).unwrap();
        assert_eq!(he["class_name"], "HeNormal");
        let c = initializer(&json!({"constant": 0.5})).unwrap();
        assert_eq!(c["config"]["value"], 0.5);
        let n = initializer(&json!({"random_normal": {"mean": 0.0, "stddev": 0.1}})).unwrap();
        assert_eq!(n["class_name"], "RandomNormal");
        assert_eq!(n["config"]["stddev"], 0.1);
        assert_eq!(
            regularizer(&json!({"l2": 0.01})).unwrap()["class_name"],
            "L2"
        );
        assert_eq!(regularizer(&Value::Null).unwrap(), Value::Null);
        assert!(regularizer(&json!("l2")).is_err());
    }
}
