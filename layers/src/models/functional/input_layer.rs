//! `InputLayer`: the entry point of a functional graph (Keras' `keras.Input`).

use convkit_tensor::tch::Tensor;
use serde::{Deserialize, Serialize};

use crate::error::batch_shape_error;
use crate::layers::layer::{Layer, LayerCommon, LayerConfig, SerializableLayer};
use crate::Result;

/// Configuration of [`InputLayer`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InputLayerConfig {
    /// Name and trainable flag.
    #[serde(flatten)]
    pub common: LayerCommon,
    /// Shape of one sample (NCHW without the batch dimension).
    pub shape: Vec<i64>,
}

/// Placeholder for a model input: passes batches of shape `(N, ...shape)` through unchanged.
#[derive(Debug)]
pub struct InputLayer {
    config: InputLayerConfig,
}

impl InputLayer {
    /// An input taking samples of `shape`.
    pub fn new(shape: impl Into<Vec<i64>>) -> Self {
        Self::from_config(InputLayerConfig {
            common: LayerCommon::new(),
            shape: shape.into(),
        })
    }
    /// The sample shape.
    pub fn shape(&self) -> &[i64] {
        &self.config.shape
    }
}

impl SerializableLayer for InputLayer {
    const CLASS_NAME: &'static str = "InputLayer";
    type Config = InputLayerConfig;

    fn from_config(config: InputLayerConfig) -> Self {
        InputLayer { config }
    }
}

impl Layer for InputLayer {
    fn common(&self) -> &LayerCommon {
        &self.config.common
    }
    fn common_mut(&mut self) -> &mut LayerCommon {
        &mut self.config.common
    }
    fn class_name(&self) -> &'static str {
        "InputLayer"
    }
    fn base_name(&self) -> &'static str {
        "input_layer"
    }
    fn compute_output_shape(&self, _input_shape: &[i64]) -> Result<Vec<i64>> {
        Ok(self.config.shape.clone())
    }
    fn build(
        &mut self,
        _input_shape: &[i64],
        _device: convkit_tensor::tch::Device,
    ) -> Result<Vec<i64>> {
        Ok(self.config.shape.clone())
    }
    fn built_input_shape(&self) -> Option<&[i64]> {
        Some(&self.config.shape)
    }
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let size = x.size();
        if size.len() != self.config.shape.len() + 1 || size[1..] != self.config.shape[..] {
            return Err(batch_shape_error(
                self.name(),
                "InputLayer",
                &self.config.shape,
                &size,
            ));
        }
        Ok(x.shallow_clone())
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::new::<Self>(&self.config)
    }
}
