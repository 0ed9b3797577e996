//! `RandomFlip`: mirrors images at random in training.

use convkit_augment::batched::{random_flip, FlipMode};
use convkit_tensor::tch::Tensor;
use serde::{Deserialize, Serialize};

use super::random_layer_basics;
use crate::layers::layer::SerializableLayer;
use crate::layers::layer::{Layer, LayerCommon};
use crate::Result;

/// Configuration of [`RandomFlip`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RandomFlipConfig {
    /// Name, trainable, input shape.
    #[serde(flatten)]
    pub common: LayerCommon,
    /// `horizontal`, `vertical` or `horizontal_and_vertical` (Keras' default).
    pub mode: String,
}

/// Keras' `RandomFlip(mode)`: each image mirrored with probability 1/2 per allowed axis, in
/// training only.
///
/// # Shapes
/// `(N, C, H, W)`, unchanged.
#[derive(Debug)]
pub struct RandomFlip {
    config: RandomFlipConfig,
    input_shape: Option<Vec<i64>>,
}

impl RandomFlip {
    /// Flips along `mode` (Keras' `"horizontal"`, `"vertical"`, `"horizontal_and_vertical"`).
    ///
    /// # Example
    /// ```
    /// use convkit_layers::layers::{FlipMode, RandomFlip};
    /// let flip = RandomFlip::new(FlipMode::Horizontal);
    /// ```
    pub fn new(mode: FlipMode) -> Self {
        Self::from_config(RandomFlipConfig {
            common: LayerCommon::new(),
            mode: mode.keras_name().into(),
        })
    }
    fn mode(&self) -> Result<FlipMode, String> {
        FlipMode::from_keras(&self.config.mode).ok_or_else(|| {
            format!(
                "mode must be horizontal, vertical or horizontal_and_vertical, got '{}'",
                self.config.mode
            )
        })
    }
    fn validate(&self) -> Result<(), String> {
        self.mode().map(|_| ())
    }
}

impl SerializableLayer for RandomFlip {
    const CLASS_NAME: &'static str = "RandomFlip";
    type Config = RandomFlipConfig;

    fn from_config(config: RandomFlipConfig) -> Self {
        RandomFlip {
            config,
            input_shape: None,
        }
    }
}

impl Layer for RandomFlip {
    random_layer_basics!("random_flip");

    fn forward(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        self.check_input(x)?;
        if !training {
            return Ok(x.shallow_clone());
        }
        let mode = self.mode().map_err(|p| self.config_error(&p))?;
        Ok(random_flip(x, mode)?)
    }
}
