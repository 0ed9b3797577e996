//! `GlobalAveragePooling2D`: the mean of each channel.

use convkit_tensor::tch::{Kind, Tensor};
use serde::{Deserialize, Serialize};

use crate::config::LayerConfig;
use crate::layer::{Layer, LayerCommon};
use crate::Result;

/// Configuration of [`GlobalAveragePooling2D`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct GlobalPoolConfig {
    /// Name, trainable, input shape.
    #[serde(flatten)]
    pub common: LayerCommon,
    /// Keep the spatial axes (size 1).
    #[serde(default)]
    pub keepdims: bool,
}

/// Averages each channel over height and width.
///
/// # Shapes
/// `(N, C, H, W)` -> `(N, C)` (or `(N, C, 1, 1)` with `keepdims`).
#[derive(Debug)]
pub struct GlobalAveragePooling2D {
    config: GlobalPoolConfig,
    input_shape: Option<Vec<i64>>,
}

impl Default for GlobalAveragePooling2D {
    fn default() -> Self {
        Self::new()
    }
}

impl GlobalAveragePooling2D {
    /// A new layer.
    pub fn new() -> Self {
        Self::from_config(GlobalPoolConfig {
            common: LayerCommon::new(),
            keepdims: false,
        })
    }
    /// A layer from its configuration.
    pub fn from_config(config: GlobalPoolConfig) -> Self {
        GlobalAveragePooling2D {
            config,
            input_shape: None,
        }
    }
    /// Keeps the spatial axes.
    pub fn keepdims(mut self, k: bool) -> Self {
        self.config.keepdims = k;
        self
    }
}

impl Layer for GlobalAveragePooling2D {
    common_accessors!();

    fn class_name(&self) -> &'static str {
        "GlobalAveragePooling2D"
    }
    fn base_name(&self) -> &'static str {
        "global_average_pooling2d"
    }
    fn compute_output_shape(&self, input_shape: &[i64]) -> Result<Vec<i64>> {
        let [c, _, _] = super::expect_chw(self, input_shape)?;
        Ok(if self.config.keepdims {
            vec![c, 1, 1]
        } else {
            vec![c]
        })
    }
    parameterless_build!();
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        self.check_input(x)?;
        Ok(x.f_mean_dim([2i64, 3].as_slice(), self.config.keepdims, Kind::Float)?)
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::GlobalAveragePooling2D(self.config.clone())
    }
}
