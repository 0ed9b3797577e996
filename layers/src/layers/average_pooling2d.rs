//! `AveragePooling2D`: mean over windows; with `same`, padded cells are not counted (TF rule).

use convkit_tensor::tch::{Device, Tensor};

use super::pooling_common::Pool2DConfig;
use crate::config::LayerConfig;
use crate::layer::{Layer, Pair};
use crate::padding::{is_symmetric, Padding};
use crate::Result;

/// Average pooling over NCHW inputs.
///
/// # Shapes
/// `(N, C, H, W)` -> `(N, C, H', W')`.
#[derive(Debug)]
pub struct AveragePooling2D {
    pub(crate) config: Pool2DConfig,
    input_shape: Option<Vec<i64>>,
}

impl AveragePooling2D {
    /// Pooling window `pool_size`, strides = pool size, `valid`.
    pub fn new(pool_size: impl Into<Pair>) -> Self {
        Self::from_config(Pool2DConfig::new(pool_size.into()))
    }
    /// A layer from its configuration.
    pub fn from_config(config: Pool2DConfig) -> Self {
        AveragePooling2D {
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

impl Layer for AveragePooling2D {
    common_accessors!();

    fn class_name(&self) -> &'static str {
        "AveragePooling2D"
    }
    fn base_name(&self) -> &'static str {
        "average_pooling2d"
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
            return Ok(x.f_avg_pool2d(k, s, [pads[0].0, pads[1].0], false, false, None)?);
        }
        // Asymmetric padding: mean of the valid cells = pooled sum of x / pooled count of cells.
        let pad = [pads[1].0, pads[1].1, pads[0].0, pads[0].1];
        let sums = x
            .f_constant_pad_nd(pad)?
            .f_avg_pool2d(k, s, [0, 0], false, true, 1)?;
        let ones = Tensor::f_ones([1, 1, size[2], size[3]], (x.kind(), x.device()))?;
        let counts = ones
            .f_constant_pad_nd(pad)?
            .f_avg_pool2d(k, s, [0, 0], false, true, 1)?;
        Ok(sums.f_div(&counts)?)
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::AveragePooling2D(self.config.clone())
    }
}
