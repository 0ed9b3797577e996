//! One Keras layer configuration (`config.json`'s `{"class_name": "Conv2D", "config":
//! {...}}`) as convkit's ([`LayerConfig`]).
//!
//! convkit's layers take Keras' argument names, so most arguments pass as they are. What
//! Keras has and convkit does not is accepted only at the value convkit implements and then
//! dropped: `dtype` (the `float32` policy), `data_format` (`channels_last`: convkit is
//! channels-first inside, and converts weights and axes), constraints (none), `groups` (1),
//! BatchNormalization's `axis` (the channel axis) and initializers (Keras' defaults),
//! `seed` (convkit's `--seed` governs randomness). Initializer and regularizer objects
//! become convkit's forms. Anything else a layer does not take is reported by the layer
//! catalogue, naming the layer and the argument.

use serde_json::{json, Map, Value};

use crate::layers::layer::LayerConfig;
use crate::{Error, Result};

/// Classes that carry code (Python bytecode or a function reference) in their config:
/// refused, as Keras' `safe_mode` refuses them; nothing in a file is executed.
const CODE_CARRYING: [&str; 2] = ["Lambda", "TFOpLambda"];

/// Keras' defaults of arguments convkit's BatchNormalization does not take.
const BATCHNORM_DEFAULTS: [(&str, &str); 4] = [
    ("beta_initializer", "zeros"),
    ("gamma_initializer", "ones"),
    ("moving_mean_initializer", "zeros"),
    ("moving_variance_initializer", "ones"),
];

/// Keras' default of a BatchNormalization initializer convkit does not take.
fn batchnorm_default(argument: &str) -> Option<&'static str> {
    BATCHNORM_DEFAULTS
        .iter()
        .find(|(name, _)| *name == argument)
        .map(|(_, default)| *default)
}

fn bad(class: &str, layer: &str, argument: &str, value: &Value, expected: &str) -> Error {
    Error::Config {
        layer: layer.to_string(),
        class: class.to_string(),
        problem: format!(
            "argument '{argument}' = {value} is not supported by convkit (expected {expected})"
        ),
    }
}

/// Refuses a layer entry whose class carries code or is not one of Keras' own.
pub(crate) fn check_class(entry: &Value) -> Result<&str> {
    let class = entry
        .get("class_name")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let name = entry
        .get("config")
        .and_then(|c| c.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("?");
    if CODE_CARRYING.contains(&class) {
        return Err(Error::Config {
            layer: name.into(),
            class: class.into(),
            problem: "a Lambda layer carries Python code; convkit refuses to load it, as Keras' \
                      safe_mode does (nothing in a file is executed): rewrite it as a layer \
                      convkit has"
                .into(),
        });
    }
    if let Some(registered) = entry
        .get("registered_name")
        .and_then(Value::as_str)
        .filter(|r| *r != class)
    {
        return Err(Error::Config {
            layer: name.into(),
            class: class.into(),
            problem: format!(
                "a custom class ('{registered}') of the Python code that saved the file; \
                 convkit knows Keras' built-in layers (register a layer of your own under \
                 that name with convkit_layers::layers::registry)"
            ),
        });
    }
    Ok(class)
}

/// The convkit configuration of the Keras layer entry `entry` (class and arguments).
/// `input_rank` is the rank (batch included) of the layer's first input, when known: it maps
/// a `Concatenate` axis of channels-last data onto convkit's channels-first one.
pub(crate) fn layer_config(entry: &Value, input_rank: Option<usize>) -> Result<LayerConfig> {
    let class = check_class(entry)?.to_string();
    let given = match entry.get("config") {
        Some(Value::Object(m)) => m.clone(),
        None | Some(Value::Null) => Map::new(),
        Some(other) => {
            return Err(Error::Config {
                layer: "?".into(),
                class,
                problem: format!("the configuration must be a JSON object, got {other}"),
            })
        }
    };
    let name = given
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string();
    let mut out = Map::new();
    for (key, value) in given {
        let fail = |expected: &str| Err(bad(&class, &name, &key, &value, expected));
        match key.as_str() {
            "dtype" => match policy_name(&value) {
                Some("float32") => {}
                // Kept, so the layer computes as it did in Keras.
                Some(p @ ("mixed_bfloat16" | "mixed_float16")) => {
                    out.insert("dtype".into(), Value::String(p.into()));
                }
                _ => return fail("a float32, mixed_bfloat16 or mixed_float16 dtype policy"),
            },
            "data_format" => {
                if !(value.is_null() || value == "channels_last") {
                    return fail("\"channels_last\"");
                }
            }
            "seed" | "renorm_momentum" | "lora_alpha" => {}
            "groups" => {
                if value != 1 {
                    return fail("1");
                }
            }
            "quantization_config"
            | "noise_shape"
            | "renorm_clipping"
            | "lora_rank"
            | "batch_size" => {
                if !value.is_null() {
                    return fail("null");
                }
            }
            "sparse" | "ragged" | "optional" | "synchronized" | "renorm" => {
                if value != false {
                    return fail("false");
                }
            }
            k if k.ends_with("_constraint") => {
                if !value.is_null() {
                    return fail("no constraint (null)");
                }
            }
            "axis" if class == "BatchNormalization" => {
                if !(value == -1 || value == 3 || value == json!([-1]) || value == json!([3])) {
                    return fail("the channel axis, -1");
                }
            }
            "axis" if class == "Concatenate" => {
                let axis = value
                    .as_i64()
                    .ok_or_else(|| bad(&class, &name, &key, &value, "an integer axis"))?;
                out.insert(key.clone(), json!(channels_first_axis(axis, input_rank)));
            }
            "batch_shape" if class == "InputLayer" => {
                let shape = input_shape(&value)
                    .ok_or_else(|| bad(&class, &name, &key, &value, "[null, dims...]"))?;
                out.insert("shape".into(), json!(shape));
            }
            k if class == "BatchNormalization" && batchnorm_default(k).is_some() => {
                let default = batchnorm_default(k).unwrap_or_default();
                if initializer(&value).ok() != Some(json!(default)) {
                    return fail(&format!("Keras' default \"{default}\""));
                }
            }
            "beta_regularizer" | "gamma_regularizer" if class == "BatchNormalization" => {
                if !value.is_null() {
                    return fail("null");
                }
            }
            k if k.ends_with("_initializer") => {
                let converted = initializer(&value)
                    .map_err(|expected| bad(&class, &name, &key, &value, &expected))?;
                out.insert(key.clone(), converted);
            }
            k if k.ends_with("_regularizer") => {
                let converted = regularizer(&value)
                    .map_err(|expected| bad(&class, &name, &key, &value, &expected))?;
                out.insert(key.clone(), converted);
            }
            _ => {
                out.insert(key, value);
            }
        }
    }
    Ok(LayerConfig {
        class_name: class,
        config: Value::Object(out),
    })
}

/// The name of the dtype policy `value` (`"float32"`, a `DTypePolicy` object, or absent:
/// float32).
fn policy_name(value: &Value) -> Option<&str> {
    match value {
        Value::Null => Some("float32"),
        Value::String(s) => Some(s.as_str()),
        Value::Object(_)
            if value.get("class_name").and_then(Value::as_str) == Some("DTypePolicy") =>
        {
            value.pointer("/config/name").and_then(Value::as_str)
        }
        _ => None,
    }
}

/// Keras' `(None, H, W, C)` as convkit's `[C, H, W]`; other ranks without their batch axis.
pub(crate) fn input_shape(batch_shape: &Value) -> Option<Vec<i64>> {
    let dims = batch_shape.as_array()?;
    let rest: Vec<i64> = dims
        .get(1..)?
        .iter()
        .map(Value::as_i64)
        .collect::<Option<_>>()?;
    Some(match rest.as_slice() {
        [h, w, c] => vec![*c, *h, *w],
        _ => rest,
    })
}

/// A channels-last axis of a rank-`rank` tensor (batch included) as the channels-first one.
fn channels_first_axis(axis: i64, rank: Option<usize>) -> i64 {
    match rank {
        Some(4) => match axis.rem_euclid(4) {
            3 => 1,
            1 => 2,
            2 => 3,
            a => a,
        },
        Some(r) => axis.rem_euclid(r.max(1) as i64),
        None if axis == -1 => 1,
        None => axis,
    }
}

/// A Keras initializer (a name or `{"class_name": ..., "config": ...}`) as convkit's.
fn initializer(value: &Value) -> std::result::Result<Value, String> {
    const EXPECTED: &str = "glorot_uniform, glorot_normal, he_uniform, he_normal, \
                            lecun_uniform, zeros, ones, constant, random_normal or random_uniform";
    let (class, config) = match value {
        Value::String(s) => (s.clone(), Value::Null),
        Value::Object(_) => (
            value
                .get("class_name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            value.get("config").cloned().unwrap_or(Value::Null),
        ),
        _ => return Err(EXPECTED.into()),
    };
    let f = |k: &str, default: f64| config.get(k).and_then(Value::as_f64).unwrap_or(default);
    Ok(match snake_case(&class).as_str() {
        n @ ("glorot_uniform" | "glorot_normal" | "he_uniform" | "he_normal" | "lecun_uniform"
        | "zeros" | "ones") => json!(n),
        "constant" => json!({"constant": f("value", 0.0)}),
        "random_normal" => {
            json!({"random_normal": {"mean": f("mean", 0.0), "stddev": f("stddev", 0.05)}})
        }
        "random_uniform" => json!({"random_uniform": {
            "minval": f("minval", -0.05), "maxval": f("maxval", 0.05)}}),
        _ => return Err(EXPECTED.into()),
    })
}

/// A Keras regularizer (`null`, a name or `{"class_name": "L2", "config": {"l2": ..}}`) as
/// convkit's.
fn regularizer(value: &Value) -> std::result::Result<Value, String> {
    const EXPECTED: &str = "null, L1, L2 or L1L2";
    if value.is_null() {
        return Ok(Value::Null);
    }
    let class = match value {
        Value::String(s) => s.to_ascii_lowercase(),
        _ => value
            .get("class_name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_lowercase(),
    };
    let f = |k: &str, default: f64| {
        value
            .pointer(&format!("/config/{k}"))
            .and_then(Value::as_f64)
            .unwrap_or(default)
    };
    Ok(match class.as_str() {
        "l1" => json!({"l1": f("l1", 0.01)}),
        "l2" => json!({"l2": f("l2", 0.01)}),
        "l1l2" | "l1_l2" => json!({"l1_l2": {"l1": f("l1", 0.0), "l2": f("l2", 0.0)}}),
        _ => return Err(EXPECTED.into()),
    })
}

/// `GlorotUniform` -> `glorot_uniform` (names already snake_case are kept).
fn snake_case(class: &str) -> String {
    let mut out = String::new();
    for (i, c) in class.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}
