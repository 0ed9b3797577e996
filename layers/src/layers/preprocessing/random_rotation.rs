//! `RandomRotation`: rotates images by a random angle in training.

use convkit_augment::batched::random_rotation;
use convkit_tensor::tch::Tensor;
use serde::{Deserialize, Serialize};

use super::{fill_setters, geometric_forward, random_layer_basics, Factor, FillSettings};
use crate::layers::layer::SerializableLayer;
use crate::layers::layer::{Layer, LayerCommon};
use crate::Result;

/// Configuration of [`RandomRotation`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RandomRotationConfig {
    /// Name, trainable, input shape.
    #[serde(flatten)]
    pub common: LayerCommon,
    /// Fraction of a full turn: `0.1` draws angles in `[-36°, 36°]`.
    pub factor: Factor,
    /// Fill mode, interpolation and fill value.
    #[serde(flatten)]
    pub fill: FillSettings,
}

/// Keras' `RandomRotation(factor, fill_mode="reflect", interpolation="bilinear")`.
///
/// # Shapes
/// `(N, C, H, W)`, unchanged.
#[derive(Debug)]
pub struct RandomRotation {
    config: RandomRotationConfig,
    input_shape: Option<Vec<i64>>,
}

impl RandomRotation {
    /// Rotations drawn from `factor` (fractions of 2π).
    pub fn new(factor: impl Into<Factor>) -> Self {
        Self::from_config(RandomRotationConfig {
            common: LayerCommon::new(),
            factor: factor.into(),
            fill: FillSettings::default(),
        })
    }

    fill_setters!();

    fn validate(&self) -> Result<(), String> {
        self.config.factor.check(1.0)?;
        self.config.fill.parse().map(|_| ())
    }
}

impl SerializableLayer for RandomRotation {
    const CLASS_NAME: &'static str = "RandomRotation";
    type Config = RandomRotationConfig;

    fn from_config(config: RandomRotationConfig) -> Self {
        RandomRotation {
            config,
            input_shape: None,
        }
    }
}

impl Layer for RandomRotation {
    random_layer_basics!("random_rotation");

    fn forward(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        let c = &self.config;
        geometric_forward(self, x, training, &c.fill, |fill, interp| {
            random_rotation(x, c.factor.range(), interp, fill)
        })
    }
}
