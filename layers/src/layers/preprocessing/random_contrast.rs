//! `RandomContrast`: scales the contrast of images at random in training.

use convkit_augment::batched::random_contrast;
use convkit_tensor::tch::Tensor;
use serde::{Deserialize, Serialize};

use super::{random_layer_basics, Factor};
use crate::layers::layer::SerializableLayer;
use crate::layers::layer::{Layer, LayerCommon};
use crate::Result;

/// Configuration of [`RandomContrast`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RandomContrastConfig {
    /// Name, trainable, input shape.
    #[serde(flatten)]
    pub common: LayerCommon,
    /// `f` draws contrast factors in `[1 - f, 1 + f]`; `(lower, upper)` in `[1 - lower, 1 + upper]`.
    pub factor: Factor,
    /// Range the outputs are clipped to (Keras' default `(0, 255)`).
    #[serde(default = "default_value_range")]
    pub value_range: (f64, f64),
}

fn default_value_range() -> (f64, f64) {
    (0.0, 255.0)
}

/// Keras' `RandomContrast(factor, value_range=(0, 255))`.
///
/// # Shapes
/// `(N, C, H, W)`, unchanged.
#[derive(Debug)]
pub struct RandomContrast {
    config: RandomContrastConfig,
    input_shape: Option<Vec<i64>>,
}

impl RandomContrast {
    /// Contrast factors drawn from `factor`.
    pub fn new(factor: impl Into<Factor>) -> Self {
        Self::from_config(RandomContrastConfig {
            common: LayerCommon::new(),
            factor: factor.into(),
            value_range: default_value_range(),
        })
    }
    /// Sets the clipping range (e.g. `(0, 1)` after rescaling).
    pub fn value_range(mut self, lo: f64, hi: f64) -> Self {
        self.config.value_range = (lo, hi);
        self
    }
    /// `(lower, upper)` with Keras' reading of a single factor `f` as `(f, f)`.
    fn lower_upper(&self) -> (f64, f64) {
        match self.config.factor {
            Factor::Symmetric(f) => (f.abs(), f.abs()),
            Factor::Range(lo, hi) => (lo, hi),
        }
    }
    fn validate(&self) -> Result<(), String> {
        let (lo, hi) = self.lower_upper();
        if !(lo.is_finite() && hi.is_finite() && (0.0..=1.0).contains(&lo) && hi >= 0.0) {
            return Err(format!(
                "factor must give lower in [0, 1] and upper >= 0, got {:?}",
                self.config.factor
            ));
        }
        let (a, b) = self.config.value_range;
        if a.partial_cmp(&b) != Some(std::cmp::Ordering::Less) {
            return Err(format!("value_range must be (low, high), got ({a}, {b})"));
        }
        Ok(())
    }
}

impl SerializableLayer for RandomContrast {
    const CLASS_NAME: &'static str = "RandomContrast";
    type Config = RandomContrastConfig;

    fn from_config(config: RandomContrastConfig) -> Self {
        RandomContrast {
            config,
            input_shape: None,
        }
    }
}

impl Layer for RandomContrast {
    random_layer_basics!("random_contrast");

    fn forward(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        self.check_input(x)?;
        if !training {
            return Ok(x.shallow_clone());
        }
        Ok(random_contrast(
            x,
            self.lower_upper(),
            self.config.value_range,
        )?)
    }
}
