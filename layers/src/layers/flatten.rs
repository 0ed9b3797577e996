//! `Flatten`: `(N, C, H, W)` -> `(N, C * H * W)`.

use convkit_tensor::tch::Tensor;
use serde::{Deserialize, Serialize};

use crate::layers::layer::{Layer, LayerCommon, LayerConfig, SerializableLayer};
use crate::Result;

/// Configuration of layers with no option beyond the common ones.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PlainConfig {
    /// Name, trainable, input shape.
    #[serde(flatten)]
    pub common: LayerCommon,
}

/// Flattens every sample into a vector.
///
/// Samples are flattened in NCHW order (channel-major), unlike Keras' NHWC order: weights of a
/// Dense layer after Flatten imported from Keras must be permuted accordingly.
///
/// # Shapes
/// `(N, d1, d2, ...)` -> `(N, d1 * d2 * ...)`.
#[derive(Debug)]
pub struct Flatten {
    config: PlainConfig,
    input_shape: Option<Vec<i64>>,
}

impl Default for Flatten {
    fn default() -> Self {
        Self::new()
    }
}

impl Flatten {
    /// A new layer.
    pub fn new() -> Self {
        Self::from_config(PlainConfig::default())
    }
}

impl SerializableLayer for Flatten {
    const CLASS_NAME: &'static str = "Flatten";
    type Config = PlainConfig;

    fn from_config(config: PlainConfig) -> Self {
        Flatten {
            config,
            input_shape: None,
        }
    }
}

impl Layer for Flatten {
    common_accessors!();

    fn class_name(&self) -> &'static str {
        Self::CLASS_NAME
    }
    fn base_name(&self) -> &'static str {
        "flatten"
    }
    fn compute_output_shape(&self, input_shape: &[i64]) -> Result<Vec<i64>> {
        if input_shape.is_empty() {
            return Err(self.shape_error(
                "(None, d1, ...) with at least one axis besides the batch",
                input_shape,
            ));
        }
        Ok(vec![input_shape.iter().product()])
    }
    parameterless_build!();
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        self.check_input(x)?;
        Ok(x.f_flatten(1, -1)?)
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::new::<Self>(&self.config)
    }
}
