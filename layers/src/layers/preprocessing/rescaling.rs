//! `Rescaling`: `x * scale + offset`, in training and inference.

use convkit_tensor::tch::Tensor;
use serde::{Deserialize, Serialize};

use crate::layers::layer::{Layer, LayerCommon, LayerConfig, SerializableLayer};
use crate::Result;

/// Configuration of [`Rescaling`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RescalingConfig {
    /// Name, trainable, input shape.
    #[serde(flatten)]
    pub common: LayerCommon,
    /// Multiplier (`1 / 255`).
    pub scale: f64,
    /// Added after scaling.
    #[serde(default)]
    pub offset: f64,
}

/// Keras' `Rescaling(scale, offset=0)`.
///
/// # Shapes
/// Any shape, unchanged.
#[derive(Debug)]
pub struct Rescaling {
    config: RescalingConfig,
    input_shape: Option<Vec<i64>>,
}

impl Rescaling {
    /// `x * scale` (Keras' `Rescaling(scale)`; add an offset with [`Rescaling::offset`]).
    pub fn new(scale: f64) -> Self {
        Self::from_config(RescalingConfig {
            common: LayerCommon::new(),
            scale,
            offset: 0.0,
        })
    }
    /// Sets the offset: `x * scale + offset` (Keras' `offset=`).
    pub fn offset(mut self, offset: f64) -> Self {
        self.config.offset = offset;
        self
    }
}

impl SerializableLayer for Rescaling {
    const CLASS_NAME: &'static str = "Rescaling";
    type Config = RescalingConfig;

    fn from_config(config: RescalingConfig) -> Self {
        Rescaling {
            config,
            input_shape: None,
        }
    }
}

impl Layer for Rescaling {
    common_accessors!();
    fn class_name(&self) -> &'static str {
        Self::CLASS_NAME
    }
    fn base_name(&self) -> &'static str {
        "rescaling"
    }
    fn compute_output_shape(&self, input_shape: &[i64]) -> Result<Vec<i64>> {
        Ok(input_shape.to_vec())
    }
    parameterless_build!();
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        self.check_input(x)?;
        Ok(x.f_mul_scalar(self.config.scale)?
            .f_add_scalar(self.config.offset)?)
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::new::<Self>(&self.config)
    }
}
