//! `SeparableConv2D`: a depthwise convolution followed by a 1x1 pointwise convolution.

use convkit_tensor::tch::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::layers::conv_options::{conv_window_setters, unit_setters, ConvWindow, UnitOptions};
use crate::layers::initializers::Initializer;
use crate::layers::layer::{Layer, LayerCommon, LayerConfig, Pair, Param, SerializableLayer};
use crate::layers::regularizers::Regularizer;
use crate::Result;

use super::conv_common::conv2d_keras;
use super::kernel_bias::{KernelBias, KernelSpec};

/// Configuration of [`SeparableConv2D`] (Keras' constructor arguments).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SeparableConv2DConfig {
    /// Name, trainable, input shape.
    #[serde(flatten)]
    pub common: LayerCommon,
    /// Number of output channels.
    pub filters: i64,
    /// Kernel size, strides, padding and dilation of the depthwise step.
    #[serde(flatten)]
    pub window: ConvWindow,
    /// Depthwise filters per input channel.
    pub depth_multiplier: i64,
    /// Activation, bias (after the pointwise step), bias and activity regularizers.
    #[serde(flatten)]
    pub units: UnitOptions,
    /// Depthwise kernel initializer (glorot_uniform).
    pub depthwise_initializer: Initializer,
    /// Pointwise kernel initializer (glorot_uniform).
    pub pointwise_initializer: Initializer,
    /// Penalty on the depthwise kernel.
    #[serde(default)]
    pub depthwise_regularizer: Option<Regularizer>,
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
    input_shape: Option<Vec<i64>>,
}

impl SeparableConv2D {
    /// `filters` output channels and a square or `(h, w)` depthwise kernel; stride 1, `valid`,
    /// depth multiplier 1, bias, no activation.
    pub fn new(filters: i64, kernel_size: impl Into<Pair>) -> Self {
        Self::from_config(SeparableConv2DConfig {
            common: LayerCommon::new(),
            filters,
            window: ConvWindow::new(kernel_size.into()),
            depth_multiplier: 1,
            units: UnitOptions::default(),
            depthwise_initializer: Initializer::GlorotUniform,
            pointwise_initializer: Initializer::GlorotUniform,
            depthwise_regularizer: None,
            pointwise_regularizer: None,
        })
    }

    conv_window_setters!();
    unit_setters!();

    /// Sets the number of depthwise filters per input channel.
    pub fn depth_multiplier(mut self, m: i64) -> Self {
        self.config.depth_multiplier = m;
        self
    }
    /// Sets the depthwise kernel initializer.
    pub fn depthwise_initializer(mut self, i: Initializer) -> Self {
        self.config.depthwise_initializer = i;
        self
    }
    /// Sets the pointwise kernel initializer.
    pub fn pointwise_initializer(mut self, i: Initializer) -> Self {
        self.config.pointwise_initializer = i;
        self
    }
    /// Sets the depthwise kernel regularizer.
    pub fn depthwise_regularizer(mut self, r: Regularizer) -> Self {
        self.config.depthwise_regularizer = Some(r);
        self
    }
    /// Sets the pointwise kernel regularizer.
    pub fn pointwise_regularizer(mut self, r: Regularizer) -> Self {
        self.config.pointwise_regularizer = Some(r);
        self
    }
}

impl SerializableLayer for SeparableConv2D {
    const CLASS_NAME: &'static str = "SeparableConv2D";
    type Config = SeparableConv2DConfig;

    fn from_config(config: SeparableConv2DConfig) -> Self {
        SeparableConv2D {
            config,
            weights: KernelBias::default(),
            input_shape: None,
        }
    }
}

impl Layer for SeparableConv2D {
    common_accessors!();

    fn class_name(&self) -> &'static str {
        Self::CLASS_NAME
    }
    fn base_name(&self) -> &'static str {
        "separable_conv2d"
    }

    fn compute_output_shape(&self, input_shape: &[i64]) -> Result<Vec<i64>> {
        let c = &self.config;
        if c.filters < 1 || c.depth_multiplier < 1 {
            return Err(self.config_error(&format!(
                "filters and depth_multiplier must be >= 1, got {} and {}",
                c.filters, c.depth_multiplier
            )));
        }
        if let Some(p) = c.window.problem() {
            return Err(self.config_error(&p));
        }
        let [_, h, w] = super::expect_chw(self, input_shape)?;
        let [oh, ow] = c
            .window
            .output_hw([h, w])
            .ok_or_else(|| self.shape_error(&c.window.min_input(), input_shape))?;
        Ok(vec![c.filters, oh, ow])
    }

    fn build(&mut self, input_shape: &[i64], device: Device) -> Result<Vec<i64>> {
        let out = self.compute_output_shape(input_shape)?;
        let c = &self.config;
        let (cin, m, f) = (input_shape[0], c.depth_multiplier, c.filters);
        let Pair(kh, kw) = c.window.kernel_size;
        let kernels = [
            KernelSpec {
                name: "depthwise_kernel",
                shape: &[cin * m, 1, kh, kw],
                keras_shape: &[kh, kw, cin, m],
                initializer: c.depthwise_initializer,
                regularizer: c.depthwise_regularizer,
            },
            KernelSpec {
                name: "pointwise_kernel",
                shape: &[f, cin * m, 1, 1],
                keras_shape: &[1, 1, cin * m, f],
                initializer: c.pointwise_initializer,
                regularizer: c.pointwise_regularizer,
            },
        ];
        self.weights = KernelBias::build(&kernels, f, &c.units, device)?;
        self.input_shape = Some(input_shape.to_vec());
        if !self.config.common.trainable {
            self.set_trainable(false);
        }
        Ok(out)
    }

    fn built_input_shape(&self) -> Option<&[i64]> {
        self.input_shape.as_deref()
    }

    fn params(&self) -> Vec<&Param> {
        self.weights.params()
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.weights.params_mut()
    }

    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        self.check_input(x)?;
        let (Some(dw), Some(pw)) = (self.weights.kernel(0), self.weights.kernel(1)) else {
            return Err(self.config_error("called before being built"));
        };
        let c = &self.config;
        let h = conv2d_keras(x, dw, None, &c.window, x.size()[1])?;
        let y = h.f_conv2d(pw, self.weights.bias(), [1, 1], [0, 0], [1, 1], 1)?;
        c.units.activation.apply(&y)
    }

    fn regularization_loss(&self) -> Result<Option<Tensor>> {
        self.weights.regularization_loss()
    }

    fn activity_regularizer(&self) -> Option<Regularizer> {
        self.config.units.activity_regularizer
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::new::<Self>(&self.config)
    }
}
