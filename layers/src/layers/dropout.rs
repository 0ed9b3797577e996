//! `Dropout`: zeroes a fraction of the inputs in training and scales the rest by
//! `1 / (1 - rate)`; the identity at inference.

use convkit_tensor::tch::Tensor;
use serde::{Deserialize, Serialize};

use crate::layers::layer::{Layer, LayerCommon, LayerConfig, SerializableLayer};
use crate::Result;

/// Configuration of [`Dropout`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DropoutConfig {
    /// Name, trainable, input shape.
    #[serde(flatten)]
    pub common: LayerCommon,
    /// Fraction of the inputs to drop, in `[0, 1)`.
    pub rate: f64,
}

/// Dropout. Masks come from libtorch's generator, re-seeded per epoch by `fit`.
///
/// # Shapes
/// Any shape, unchanged.
#[derive(Debug)]
pub struct Dropout {
    config: DropoutConfig,
    input_shape: Option<Vec<i64>>,
}

impl Dropout {
    /// Drops a fraction `rate` of the inputs in training.
    pub fn new(rate: f64) -> Self {
        Self::from_config(DropoutConfig {
            common: LayerCommon::new(),
            rate,
        })
    }
}

impl SerializableLayer for Dropout {
    const CLASS_NAME: &'static str = "Dropout";
    type Config = DropoutConfig;

    fn from_config(config: DropoutConfig) -> Self {
        Dropout {
            config,
            input_shape: None,
        }
    }
}

impl Layer for Dropout {
    common_accessors!();

    fn class_name(&self) -> &'static str {
        Self::CLASS_NAME
    }
    fn base_name(&self) -> &'static str {
        "dropout"
    }
    fn compute_output_shape(&self, input_shape: &[i64]) -> Result<Vec<i64>> {
        let r = self.config.rate;
        if !(0.0..1.0).contains(&r) {
            return Err(self.config_error(&format!("rate must lie in [0, 1), got {r}")));
        }
        Ok(input_shape.to_vec())
    }
    parameterless_build!();
    fn forward(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        self.check_input(x)?;
        if !training || self.config.rate == 0.0 {
            return Ok(x.shallow_clone());
        }
        Ok(x.f_dropout(self.config.rate, true)?)
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::new::<Self>(&self.config)
    }
}
