//! The layer catalogue: the one place that maps a class name to a layer constructor.
//!
//! Loading a saved model goes through [`layer_from_config`]. Every built-in layer is listed in
//! `builtin_catalogue`, one line each; a layer type from another crate joins with
//! [`register`] and then saves, loads and appears in `summary()` like a built-in one. Other
//! formats (Keras' `config.json`) add their own class names with [`register_constructor`].
//!
//! # Example
//! ```
//! use convkit_layers::layers::registry;
//! assert!(registry::class_names().contains(&"Conv2D".to_string()));
//! ```

use std::collections::HashMap;
use std::sync::{LazyLock, PoisonError, RwLock};

use serde_json::{Map, Value};

use crate::layers::layer::Layer;
use crate::layers::layer::{LayerConfig, SerializableLayer};
use crate::layers::*;
use crate::models::functional::{InputLayer, ModelLayer};
use crate::{Error, Result};

/// Builds an unbuilt layer from its saved configuration.
pub type LayerConstructor = fn(&LayerConfig) -> Result<Box<dyn Layer>>;

static CATALOGUE: LazyLock<RwLock<HashMap<String, LayerConstructor>>> =
    LazyLock::new(|| RwLock::new(builtin_catalogue()));

/// The built-in layers, one line each.
fn builtin_catalogue() -> HashMap<String, LayerConstructor> {
    let mut c = HashMap::new();
    add::<ActivationLayer>(&mut c);
    add::<AveragePooling2D>(&mut c);
    add::<BatchNormalization>(&mut c);
    add::<Concatenate>(&mut c);
    add::<Conv2D>(&mut c);
    add::<Conv2DTranspose>(&mut c);
    add::<Dense>(&mut c);
    add::<DepthwiseConv2D>(&mut c);
    add::<Dropout>(&mut c);
    add::<Flatten>(&mut c);
    add::<GlobalAveragePooling2D>(&mut c);
    add::<GlobalMaxPooling2D>(&mut c);
    add::<InputLayer>(&mut c);
    add::<MaxPooling2D>(&mut c);
    add::<ModelLayer>(&mut c);
    add::<RandomContrast>(&mut c);
    add::<RandomFlip>(&mut c);
    add::<RandomRotation>(&mut c);
    add::<RandomTranslation>(&mut c);
    add::<RandomZoom>(&mut c);
    add::<ReLU>(&mut c);
    add::<Rescaling>(&mut c);
    add::<Resizing>(&mut c);
    add::<SeparableConv2D>(&mut c);
    add::<UpSampling2D>(&mut c);
    add::<ZeroPadding2D>(&mut c);
    add::<Add>(&mut c);
    add::<Average>(&mut c);
    add::<Maximum>(&mut c);
    add::<Minimum>(&mut c);
    add::<Multiply>(&mut c);
    add::<Subtract>(&mut c);
    c
}

fn add<T: SerializableLayer>(c: &mut HashMap<String, LayerConstructor>) {
    c.insert(T::CLASS_NAME.to_string(), construct::<T>);
}

/// Adds layer type `T` to the catalogue under its class name (replacing an entry of that
/// name), so models that use it can be loaded.
///
/// # Example
/// ```ignore
/// convkit_layers::layers::registry::register::<MyLayer>();
/// ```
pub fn register<T: SerializableLayer>() {
    register_constructor(T::CLASS_NAME, construct::<T>);
}

/// Adds a constructor under `class_name` (replacing an entry of that name): for class names
/// of other formats, or layers whose configuration needs more than deserializing.
pub fn register_constructor(class_name: &str, constructor: LayerConstructor) {
    CATALOGUE
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(class_name.to_string(), constructor);
}

/// The class names the catalogue knows, sorted.
pub fn class_names() -> Vec<String> {
    let mut names: Vec<String> = CATALOGUE
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .keys()
        .cloned()
        .collect();
    names.sort();
    names
}

/// An unbuilt layer from its saved configuration. An unknown class name, an argument the
/// layer does not take or a value of the wrong type is an error naming the layer and the
/// argument.
pub fn layer_from_config(config: &LayerConfig) -> Result<Box<dyn Layer>> {
    let constructor = CATALOGUE
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&config.class_name)
        .copied();
    match constructor {
        Some(construct) => construct(config),
        None => Err(config_error(
            config,
            format!(
                "unknown layer class '{}'; known classes: {} (a layer type of your own must \
                 be registered first: convkit_layers::layers::registry::register::<T>())",
                config.class_name,
                class_names().join(", ")
            ),
        )),
    }
}

/// Deserializes `T`'s configuration, refusing arguments it does not know.
fn construct<T: SerializableLayer>(config: &LayerConfig) -> Result<Box<dyn Layer>> {
    let given = match &config.config {
        Value::Null => Map::new(),
        Value::Object(m) => m.clone(),
        other => {
            return Err(config_error(
                config,
                format!("the configuration must be a JSON object, got {other}"),
            ))
        }
    };
    let typed: T::Config = serde_json::from_value(Value::Object(given.clone()))
        .map_err(|e| config_error(config, format!("invalid argument: {e}")))?;
    let known = serde_json::to_value(&typed)
        .map_err(|e| config_error(config, format!("configuration does not serialize: {e}")))?;
    let unknown: Vec<&String> = given
        .iter()
        .filter(|(k, v)| !v.is_null() && known.get(k.as_str()).is_none())
        .map(|(k, _)| k)
        .collect();
    if let Some(first) = unknown.first() {
        let mut expected: Vec<&String> = known
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        expected.sort();
        return Err(config_error(
            config,
            format!(
                "unknown argument '{first}'{}; {} takes: {}",
                if unknown.len() > 1 {
                    format!(" (and {} more)", unknown.len() - 1)
                } else {
                    String::new()
                },
                T::CLASS_NAME,
                expected
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    Ok(Box::new(T::from_config(typed)))
}

fn config_error(config: &LayerConfig, problem: String) -> Error {
    Error::Config {
        layer: config.layer_name().unwrap_or("?").to_string(),
        class: config.class_name.clone(),
        problem,
    }
}
