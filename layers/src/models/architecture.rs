//! Rebuilding a model of any class from its architecture JSON (`model.json`'s
//! `architecture`, a nested model's configuration).

use convkit_tensor::tch::Device;
use serde_json::Value;

use crate::models::functional::Functional;
use crate::models::model::Model;
use crate::models::sequential::Sequential;
use crate::{Error, Result};

/// Rebuilds a model (any class) from its architecture JSON, weights freshly initialised.
pub fn model_from_architecture(arch: &Value, device: Device) -> Result<Box<dyn Model>> {
    match arch.get("class_name").and_then(Value::as_str) {
        Some("Sequential") => Ok(Box::new(Sequential::from_architecture(arch, device)?)),
        Some("Functional") => Ok(Box::new(Functional::from_architecture(arch, device)?)),
        other => Err(Error::Model {
            model: "?".into(),
            problem: format!(
                "unsupported model class {other:?}; expected \"Sequential\" or \"Functional\""
            ),
        }),
    }
}
