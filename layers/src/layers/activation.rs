//! `Activation`: applies an activation function as a layer of its own.

use convkit_tensor::tch::Tensor;
use serde::{Deserialize, Serialize};

use crate::layers::activations::Activation;
use crate::layers::layer::{Layer, LayerCommon, LayerConfig, SerializableLayer};
use crate::Result;

/// Configuration of [`ActivationLayer`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ActivationConfig {
    /// Name, trainable, input shape.
    #[serde(flatten)]
    pub common: LayerCommon,
    /// The function.
    pub activation: Activation,
}

/// Keras' `Activation` layer.
///
/// # Shapes
/// Any shape, unchanged.
#[derive(Debug)]
pub struct ActivationLayer {
    config: ActivationConfig,
    input_shape: Option<Vec<i64>>,
}

impl ActivationLayer {
    /// A layer applying `activation`.
    pub fn new(activation: Activation) -> Self {
        Self::from_config(ActivationConfig {
            common: LayerCommon::new(),
            activation,
        })
    }
}

impl SerializableLayer for ActivationLayer {
    const CLASS_NAME: &'static str = "Activation";
    type Config = ActivationConfig;

    fn from_config(config: ActivationConfig) -> Self {
        ActivationLayer {
            config,
            input_shape: None,
        }
    }
}

impl Layer for ActivationLayer {
    common_accessors!();

    fn class_name(&self) -> &'static str {
        Self::CLASS_NAME
    }
    fn base_name(&self) -> &'static str {
        "activation"
    }
    fn compute_output_shape(&self, input_shape: &[i64]) -> Result<Vec<i64>> {
        Ok(input_shape.to_vec())
    }
    parameterless_build!();
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        self.check_input(x)?;
        self.config.activation.apply(x)
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::new::<Self>(&self.config)
    }
}
