//! What a saved layer is: its class name and its arguments ([`LayerConfig`]), and the trait
//! a layer type implements to be rebuilt from them ([`SerializableLayer`], what Keras'
//! `get_config`/`from_config` pair gives Python layers).
//!
//! The layer catalogue ([`crate::layers::registry`]) maps class names to the types that
//! implement [`SerializableLayer`]; layer files know nothing of it.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::layers::layer::Layer;

/// A layer's saved configuration, as in Keras' `model.json`:
/// `{"class_name": "Conv2D", "config": {"filters": 32, ...}}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LayerConfig {
    /// The class name the catalogue knows the layer by (`"Conv2D"`).
    pub class_name: String,
    /// The layer's arguments (its `Config` type as JSON).
    #[serde(default)]
    pub config: Value,
}

impl LayerConfig {
    /// The configuration of a layer of type `T` with arguments `config`.
    pub fn new<T: SerializableLayer>(config: &T::Config) -> Self {
        // A derived `Serialize` of a struct with string keys cannot fail; should a custom
        // one fail, the saved entry says why and loading it reports that text.
        let config = serde_json::to_value(config)
            .unwrap_or_else(|e| Value::String(format!("unserializable configuration: {e}")));
        LayerConfig {
            class_name: T::CLASS_NAME.to_string(),
            config,
        }
    }

    /// The layer's name in the configuration, if any (for error messages).
    pub fn layer_name(&self) -> Option<&str> {
        self.config.get("name").and_then(Value::as_str)
    }
}

/// A layer type that can be saved and rebuilt from its configuration.
///
/// Built-in layers are in the catalogue from the start; a layer defined in another crate
/// becomes saveable and loadable once registered with [`crate::layers::registry::register`]
/// (Keras' `register_keras_serializable`).
///
/// `Config` must round-trip through JSON: the catalogue reports an argument it does not
/// know by comparing the given keys with those of the re-serialized configuration, so a
/// field that is skipped when serializing must be an `Option` skipped only when `None`.
///
/// # Example
/// ```
/// use convkit_layers::layers::{LayerConfig, SerializableLayer};
/// use convkit_layers::prelude::*;
///
/// let conv = Conv2D::new(8, 3);
/// let saved: LayerConfig = conv.config();
/// assert_eq!(saved.class_name, "Conv2D");
/// let rebuilt = convkit_layers::layers::registry::layer_from_config(&saved).unwrap();
/// assert_eq!(rebuilt.class_name(), "Conv2D");
/// # let _ = Conv2D::from_config(serde_json::from_value(saved.config).unwrap());
/// ```
pub trait SerializableLayer: Layer + Sized + 'static {
    /// The class name saved in `model.json` (Keras' class name for Keras' layers).
    const CLASS_NAME: &'static str;
    /// The layer's arguments.
    type Config: Serialize + DeserializeOwned;
    /// An unbuilt layer with these arguments.
    fn from_config(config: Self::Config) -> Self;
}
