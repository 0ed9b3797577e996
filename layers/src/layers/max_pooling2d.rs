//! `MaxPooling2D`: maximum over windows; strides default to the window size.

use convkit_tensor::tch::{Device, Tensor};

use super::pooling_common::Pool2DConfig;
use crate::config::LayerConfig;
use crate::layer::{Layer, Pair};
use crate::padding::{is_symmetric, Padding};
use crate::Result;

/// Max pooling over NCHW inputs; `same` pads with -inf, TF-style.
///
/// # Shapes
/// `(N, C, H, W)` -> `(N, C, H', W')`; `MaxPooling2D::new(2)` halves H and W (floor).
#[derive(Debug)]
pub struct MaxPooling2D {
    pub(crate) config: Pool2DConfig,
    input_shape: Option<Vec<i64>>,
}

impl MaxPooling2D {
    /// Pooling window `pool_size` (int or pair), strides = pool size, `valid`.
    pub fn new(pool_size: impl Into<Pair>) -> Self {
        Self::from_config(Pool2DConfig::new(pool_size.into()))
    }
    /// A layer from its configuration.
    pub fn from_config(config: Pool2DConfig) -> Self {
        MaxPooling2D {
            config,
            input_shape: None,
        }
    }
    /// Sets the strides.
    pub fn strides(mut self, s: impl Into<Pair>) -> Self {
        self.config.strides = Some(s.into());
        self
    }
    /// Sets the padding.
    pub fn padding(mut self, p: Padding) -> Self {
        self.config.padding = p;
        self
    }
}

impl Layer for MaxPooling2D {
    common_accessors!();

    fn class_name(&self) -> &'static str {
        "MaxPooling2D"
    }
    fn base_name(&self) -> &'static str {
        "max_pooling2d"
    }
    fn compute_output_shape(&self, input_shape: &[i64]) -> Result<Vec<i64>> {
        self.config.output_shape(self, input_shape)
    }
    fn build(&mut self, input_shape: &[i64], _device: Device) -> Result<Vec<i64>> {
        let out = self.compute_output_shape(input_shape)?;
        self.input_shape = Some(input_shape.to_vec());
        Ok(out)
    }
    fn built_input_shape(&self) -> Option<&[i64]> {
        self.input_shape.as_deref()
    }
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        self.check_input(x)?;
        let size = x.size();
        let pads = self.config.pads([size[2], size[3]]);
        let (k, s) = (
            self.config.pool_size.arr(),
            self.config.effective_strides().arr(),
        );
        if is_symmetric(&pads) {
            Ok(x.f_max_pool2d(k, s, [pads[0].0, pads[1].0], [1, 1], false)?)
        } else {
            let padded = x.f_pad(
                [pads[1].0, pads[1].1, pads[0].0, pads[0].1],
                "constant",
                f64::NEG_INFINITY,
            )?;
            Ok(padded.f_max_pool2d(k, s, [0, 0], [1, 1], false)?)
        }
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::MaxPooling2D(self.config.clone())
    }
}
