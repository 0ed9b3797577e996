//! `UpSampling2D`: repeats rows and columns (or interpolates).

use convkit_tensor::tch::Tensor;
use serde::{Deserialize, Serialize};

use crate::layers::layer::{Layer, LayerCommon, LayerConfig, Pair, SerializableLayer};
use crate::Result;

use super::resize_common::{resize_nchw, ResizeInterpolation};

/// Configuration of [`UpSampling2D`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UpSampling2DConfig {
    /// Name, trainable, input shape.
    #[serde(flatten)]
    pub common: LayerCommon,
    /// Row and column factors.
    pub size: Pair,
    /// `nearest` (repeat, Keras' default), `bilinear` or `bicubic`.
    pub interpolation: ResizeInterpolation,
}

/// Upsamples images by integer factors (Keras' `UpSampling2D`).
///
/// # Shapes
/// `(N, C, H, W)` -> `(N, C, H * size.0, W * size.1)`.
#[derive(Debug)]
pub struct UpSampling2D {
    config: UpSampling2DConfig,
    input_shape: Option<Vec<i64>>,
}

impl UpSampling2D {
    /// Factors `size` (`2` or `(2, 3)`), nearest-neighbour repetition.
    pub fn new(size: impl Into<Pair>) -> Self {
        Self::from_config(UpSampling2DConfig {
            common: LayerCommon::new(),
            size: size.into(),
            interpolation: ResizeInterpolation::Nearest,
        })
    }
    /// Sets the interpolation.
    pub fn interpolation(mut self, i: ResizeInterpolation) -> Self {
        self.config.interpolation = i;
        self
    }
}

impl SerializableLayer for UpSampling2D {
    const CLASS_NAME: &'static str = "UpSampling2D";
    type Config = UpSampling2DConfig;

    fn from_config(config: UpSampling2DConfig) -> Self {
        UpSampling2D {
            config,
            input_shape: None,
        }
    }
}

impl Layer for UpSampling2D {
    common_accessors!();
    fn class_name(&self) -> &'static str {
        Self::CLASS_NAME
    }
    fn base_name(&self) -> &'static str {
        "up_sampling2d"
    }
    fn compute_output_shape(&self, input_shape: &[i64]) -> Result<Vec<i64>> {
        let [c, h, w] = super::expect_chw(self, input_shape)?;
        let s = self.config.size;
        if s.0 < 1 || s.1 < 1 {
            return Err(self.config_error(&format!("size must be >= 1, got {s:?}")));
        }
        Ok(vec![c, h * s.0, w * s.1])
    }
    parameterless_build!();
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        self.check_input(x)?;
        let s = self.config.size;
        let size = x.size();
        match self.config.interpolation {
            ResizeInterpolation::Nearest => Ok(x
                .f_repeat_interleave_self_int(s.0, 2, None)?
                .f_repeat_interleave_self_int(s.1, 3, None)?),
            other => resize_nchw(x, [size[2] * s.0, size[3] * s.1], other),
        }
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::new::<Self>(&self.config)
    }
}
