//! `ReLU` as a layer, with Keras' `max_value`, `negative_slope` and `threshold`.

use convkit_tensor::tch::Tensor;
use serde::{Deserialize, Serialize};

use crate::layers::layer::{Layer, LayerCommon, LayerConfig, SerializableLayer};
use crate::Result;

/// Configuration of [`ReLU`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReLUConfig {
    /// Name, trainable, input shape.
    #[serde(flatten)]
    pub common: LayerCommon,
    /// Upper clip (`6` gives ReLU6).
    #[serde(default)]
    pub max_value: Option<f64>,
    /// Slope below the threshold (leaky ReLU).
    #[serde(default)]
    pub negative_slope: f64,
    /// Values at or below it are damped.
    #[serde(default)]
    pub threshold: f64,
}

/// Rectified linear unit (Keras' `ReLU` layer):
/// `max_value` for `x >= max_value`, `x` for `threshold < x < max_value`,
/// `negative_slope * (x - threshold)` otherwise.
///
/// # Shapes
/// Any shape; the output has the input's.
#[derive(Debug)]
pub struct ReLU {
    config: ReLUConfig,
    input_shape: Option<Vec<i64>>,
}

impl Default for ReLU {
    fn default() -> Self {
        Self::new()
    }
}

impl ReLU {
    /// Plain `max(x, 0)`.
    pub fn new() -> Self {
        Self::from_config(ReLUConfig {
            common: LayerCommon::new(),
            max_value: None,
            negative_slope: 0.0,
            threshold: 0.0,
        })
    }
    /// ReLU6: `min(max(x, 0), 6)` (MobileNet, EfficientNet-Lite).
    pub fn relu6() -> Self {
        Self::new().max_value(6.0)
    }
    /// Sets the upper clip.
    pub fn max_value(mut self, v: f64) -> Self {
        self.config.max_value = Some(v);
        self
    }
    /// Sets the slope below the threshold.
    pub fn negative_slope(mut self, s: f64) -> Self {
        self.config.negative_slope = s;
        self
    }
    /// Sets the threshold.
    pub fn threshold(mut self, t: f64) -> Self {
        self.config.threshold = t;
        self
    }
}

impl SerializableLayer for ReLU {
    const CLASS_NAME: &'static str = "ReLU";
    type Config = ReLUConfig;

    fn from_config(config: ReLUConfig) -> Self {
        ReLU {
            config,
            input_shape: None,
        }
    }
}

impl Layer for ReLU {
    common_accessors!();
    fn class_name(&self) -> &'static str {
        Self::CLASS_NAME
    }
    fn base_name(&self) -> &'static str {
        "re_lu"
    }
    fn compute_output_shape(&self, input_shape: &[i64]) -> Result<Vec<i64>> {
        let c = &self.config;
        if c.max_value.is_some_and(|m| m < 0.0) || c.negative_slope < 0.0 {
            return Err(self.config_error(&format!(
                "max_value and negative_slope must be >= 0, got {:?} and {}",
                c.max_value, c.negative_slope
            )));
        }
        Ok(input_shape.to_vec())
    }
    parameterless_build!();
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        self.check_input(x)?;
        // Keras' `ReLU.static_call`, step by step.
        let c = &self.config;
        let negative_part = if c.negative_slope != 0.0 {
            Some(x.f_neg()?.f_add_scalar(c.threshold)?.f_relu()?)
        } else {
            None
        };
        let mut y = if c.threshold != 0.0 {
            let y = x.f_mul(&x.f_gt(c.threshold)?.f_to_kind(x.kind())?)?;
            match c.max_value {
                Some(m) => y.f_clamp(0.0, m)?,
                None => y,
            }
        } else {
            // One pass: clamp(x, 0, max) is relu followed by the clip.
            match c.max_value {
                Some(m) => x.f_clamp(0.0, m)?,
                None => x.f_relu()?,
            }
        };
        if let Some(n) = negative_part {
            y = y.f_sub(&n.f_mul_scalar(c.negative_slope)?)?;
        }
        Ok(y)
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::new::<Self>(&self.config)
    }
}
