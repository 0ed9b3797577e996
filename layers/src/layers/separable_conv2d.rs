//! `SeparableConv2D`: a depthwise convolution followed by a 1x1 pointwise convolution.

use convkit_tensor::tch::Tensor;
use serde::{Deserialize, Serialize};

use crate::layers::conv_options::{
    check_counts, conv_window_setters, kernel_setters, unit_setters,
};
use crate::layers::initializers::Initializer;
use crate::layers::layer::{Layer, LayerCommon, Pair, SerializableLayer};
use crate::layers::regularizers::Regularizer;
use crate::Result;

use super::conv_common::conv2d_keras;
use super::depthwise_conv2d::{DepthwiseConv2D, DepthwiseConv2DConfig};
use super::kernel_bias::{kernel_bias_layer, KernelBias, KernelSpec};

/// Configuration of [`SeparableConv2D`] (Keras' constructor arguments): those of the
/// depthwise step (a [`DepthwiseConv2D`]'s; the activation and bias come after the
/// pointwise step), the number of output channels and the pointwise kernel's options.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SeparableConv2DConfig {
    /// The depthwise step: name, window, depth multiplier, activation and bias, depthwise
    /// kernel options.
    #[serde(flatten)]
    pub depthwise: DepthwiseConv2DConfig,
    /// Number of output channels.
    pub filters: i64,
    /// Pointwise kernel initializer (glorot_uniform).
    pub pointwise_initializer: Initializer,
    /// Penalty on the pointwise kernel.
    #[serde(default)]
    pub pointwise_regularizer: Option<Regularizer>,
}

/// Depthwise separable 2-D convolution (Xception's building block): a spatial convolution
/// per input channel, then a 1x1 convolution that mixes channels. Far fewer parameters than
/// `Conv2D` for the same receptive field.
///
/// Weights (Keras names): `depthwise_kernel` stored `(in * m, 1, kh, kw)` (Keras
/// `(kh, kw, in, m)`), `pointwise_kernel` stored `(filters, in * m, 1, 1)` (Keras
/// `(1, 1, in * m, filters)`), `bias` `(filters,)`.
///
/// # Shapes
/// `(N, C, H, W)` -> `(N, filters, H', W')` with `Conv2D`'s output sizes.
///
/// # Example
/// ```
/// use convkit_layers::prelude::*;
/// let layer = SeparableConv2D::new(64, 3).padding(Padding::Same).use_bias(false);
/// ```
#[derive(Debug)]
pub struct SeparableConv2D {
    config: SeparableConv2DConfig,
    weights: KernelBias,
}

impl SeparableConv2D {
    /// `filters` output channels and a square or `(h, w)` depthwise kernel; stride 1, `valid`,
    /// depth multiplier 1, bias, no activation.
    pub fn new(filters: i64, kernel_size: impl Into<Pair>) -> Self {
        Self::from_config(SeparableConv2DConfig {
            depthwise: DepthwiseConv2D::new(kernel_size).depthwise_config().clone(),
            filters,
            pointwise_initializer: Initializer::GlorotUniform,
            pointwise_regularizer: None,
        })
    }

    conv_window_setters!(depthwise.window);
    unit_setters!(depthwise.units);
    kernel_setters!(depthwise: depthwise_initializer, depthwise_regularizer);
    kernel_setters!(pointwise_initializer, pointwise_regularizer);

    /// Sets the number of depthwise filters per input channel.
    pub fn depth_multiplier(mut self, m: i64) -> Self {
        self.config.depthwise.depth_multiplier = m;
        self
    }

    fn kernel_specs(&self, input_shape: &[i64]) -> (Vec<KernelSpec>, i64) {
        let (d, f) = (&self.config.depthwise, self.config.filters);
        let (cin, m) = (input_shape[0], d.depth_multiplier);
        let Pair(kh, kw) = d.window.kernel_size;
        let depthwise = KernelSpec {
            name: "depthwise_kernel",
            shape: vec![cin * m, 1, kh, kw],
            keras_shape: vec![kh, kw, cin, m],
            initializer: d.depthwise_initializer,
            regularizer: d.depthwise_regularizer,
        };
        let pointwise = KernelSpec {
            name: "pointwise_kernel",
            shape: vec![f, cin * m, 1, 1],
            keras_shape: vec![1, 1, cin * m, f],
            initializer: self.config.pointwise_initializer,
            regularizer: self.config.pointwise_regularizer,
        };
        (vec![depthwise, pointwise], f)
    }
}

impl SerializableLayer for SeparableConv2D {
    const CLASS_NAME: &'static str = "SeparableConv2D";
    type Config = SeparableConv2DConfig;

    fn from_config(config: SeparableConv2DConfig) -> Self {
        SeparableConv2D {
            config,
            weights: KernelBias::default(),
        }
    }
}

impl Layer for SeparableConv2D {
    fn common(&self) -> &LayerCommon {
        &self.config.depthwise.common
    }
    fn common_mut(&mut self) -> &mut LayerCommon {
        &mut self.config.depthwise.common
    }

    fn class_name(&self) -> &'static str {
        Self::CLASS_NAME
    }
    fn base_name(&self) -> &'static str {
        "separable_conv2d"
    }

    fn compute_output_shape(&self, input_shape: &[i64]) -> Result<Vec<i64>> {
        let (d, f) = (&self.config.depthwise, self.config.filters);
        check_counts(
            self,
            &[("filters", f), ("depth_multiplier", d.depth_multiplier)],
        )?;
        d.window.output_shape(self, input_shape, |_| f)
    }

    kernel_bias_layer!(depthwise.units);

    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        self.check_input(x)?;
        let (Some(dw), Some(pw)) = (self.weights.kernel(0), self.weights.kernel(1)) else {
            return Err(self.config_error("called before being built"));
        };
        let d = &self.config.depthwise;
        let h = conv2d_keras(x, dw, None, &d.window, x.size()[1])?;
        let pw = crate::mixed_precision::variable_as(pw, &h)?;
        let bias = self
            .weights
            .bias()
            .map(|b| crate::mixed_precision::variable_as(b, &h))
            .transpose()?;
        let y = h.f_conv2d(&pw, bias.as_ref(), [1, 1], [0, 0], [1, 1], 1)?;
        d.units.activation.apply(&y)
    }
}
