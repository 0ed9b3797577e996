//! `RandomTranslation`: shifts images at random in training.

use convkit_augment::batched::random_translation;
use convkit_tensor::tch::Tensor;
use serde::{Deserialize, Serialize};

use super::{fill_setters, geometric_forward, random_layer_basics, Factor, FillSettings};
use crate::layers::layer::SerializableLayer;
use crate::layers::layer::{Layer, LayerCommon};
use crate::Result;

/// Configuration of [`RandomTranslation`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RandomTranslationConfig {
    /// Name, trainable, input shape.
    #[serde(flatten)]
    pub common: LayerCommon,
    /// Vertical shift as a fraction of the height.
    pub height_factor: Factor,
    /// Horizontal shift as a fraction of the width.
    pub width_factor: Factor,
    /// Fill mode, interpolation and fill value.
    #[serde(flatten)]
    pub fill: FillSettings,
}

/// Keras' `RandomTranslation(height_factor, width_factor, fill_mode="reflect")`.
///
/// # Shapes
/// `(N, C, H, W)`, unchanged.
#[derive(Debug)]
pub struct RandomTranslation {
    config: RandomTranslationConfig,
    input_shape: Option<Vec<i64>>,
}

impl RandomTranslation {
    /// Shifts drawn from `height_factor` and `width_factor` (fractions of the size).
    pub fn new(height_factor: impl Into<Factor>, width_factor: impl Into<Factor>) -> Self {
        Self::from_config(RandomTranslationConfig {
            common: LayerCommon::new(),
            height_factor: height_factor.into(),
            width_factor: width_factor.into(),
            fill: FillSettings::default(),
        })
    }

    fill_setters!();

    fn validate(&self) -> Result<(), String> {
        self.config.height_factor.check(1.0)?;
        self.config.width_factor.check(1.0)?;
        self.config.fill.parse().map(|_| ())
    }
}

impl SerializableLayer for RandomTranslation {
    const CLASS_NAME: &'static str = "RandomTranslation";
    type Config = RandomTranslationConfig;

    fn from_config(config: RandomTranslationConfig) -> Self {
        RandomTranslation {
            config,
            input_shape: None,
        }
    }
}

impl Layer for RandomTranslation {
    random_layer_basics!("random_translation");

    fn forward(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        let c = &self.config;
        geometric_forward(self, x, training, &c.fill, |fill, interp| {
            random_translation(
                x,
                c.height_factor.range(),
                c.width_factor.range(),
                interp,
                fill,
            )
        })
    }
}
