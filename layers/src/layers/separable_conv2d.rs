//! `SeparableConv2D`: a depthwise convolution followed by a 1x1 pointwise convolution.

use convkit_tensor::tch::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::layers::activations::Activation;
use crate::layers::initializers::Initializer;
use crate::layers::layer::{Layer, LayerCommon, LayerConfig, Pair, Param, SerializableLayer};
use crate::layers::padding::Padding;
use crate::layers::regularizers::{add_penalty, Regularizer};
use crate::Result;

use super::conv_common::{check_conv_options, conv2d_keras};
use super::depthwise_conv2d::conv_output_hw;

/// Configuration of [`SeparableConv2D`] (Keras' constructor arguments).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SeparableConv2DConfig {
    /// Name, trainable, input shape.
    #[serde(flatten)]
    pub common: LayerCommon,
    /// Number of output channels.
    pub filters: i64,
    /// Kernel height and width of the depthwise step.
    pub kernel_size: Pair,
    /// Strides of the depthwise step.
    pub strides: Pair,
    /// `valid` or `same`.
    pub padding: Padding,
    /// Depthwise filters per input channel.
    pub depth_multiplier: i64,
    /// Dilation rate of the depthwise step.
    pub dilation_rate: Pair,
    /// Activation applied to the output.
    pub activation: Activation,
    /// Whether a bias is added (after the pointwise step).
    pub use_bias: bool,
    /// Depthwise kernel initializer (glorot_uniform).
    pub depthwise_initializer: Initializer,
    /// Pointwise kernel initializer (glorot_uniform).
    pub pointwise_initializer: Initializer,
    /// Bias initializer (zeros).
    pub bias_initializer: Initializer,
    /// Penalty on the depthwise kernel.
    #[serde(default)]
    pub depthwise_regularizer: Option<Regularizer>,
    /// Penalty on the pointwise kernel.
    #[serde(default)]
    pub pointwise_regularizer: Option<Regularizer>,
    /// Penalty on the bias.
    #[serde(default)]
    pub bias_regularizer: Option<Regularizer>,
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
    depthwise: Option<Param>,
    pointwise: Option<Param>,
    bias: Option<Param>,
    input_shape: Option<Vec<i64>>,
}

impl SeparableConv2D {
    /// `filters` output channels and a square or `(h, w)` depthwise kernel; stride 1, `valid`,
    /// depth multiplier 1, bias, no activation.
    pub fn new(filters: i64, kernel_size: impl Into<Pair>) -> Self {
        Self::from_config(SeparableConv2DConfig {
            common: LayerCommon::new(),
            filters,
            kernel_size: kernel_size.into(),
            strides: Pair(1, 1),
            padding: Padding::Valid,
            depth_multiplier: 1,
            dilation_rate: Pair(1, 1),
            activation: Activation::Linear,
            use_bias: true,
            depthwise_initializer: Initializer::GlorotUniform,
            pointwise_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            depthwise_regularizer: None,
            pointwise_regularizer: None,
            bias_regularizer: None,
        })
    }

    /// Sets the strides.
    pub fn strides(mut self, s: impl Into<Pair>) -> Self {
        self.config.strides = s.into();
        self
    }
    /// Sets the padding.
    pub fn padding(mut self, p: Padding) -> Self {
        self.config.padding = p;
        self
    }
    /// Sets the number of depthwise filters per input channel.
    pub fn depth_multiplier(mut self, m: i64) -> Self {
        self.config.depth_multiplier = m;
        self
    }
    /// Sets the dilation rate.
    pub fn dilation_rate(mut self, d: impl Into<Pair>) -> Self {
        self.config.dilation_rate = d.into();
        self
    }
    /// Sets the activation.
    pub fn activation(mut self, a: Activation) -> Self {
        self.config.activation = a;
        self
    }
    /// Enables or disables the bias.
    pub fn use_bias(mut self, b: bool) -> Self {
        self.config.use_bias = b;
        self
    }

    fn validate(&self) -> Result<()> {
        let c = &self.config;
        if c.filters < 1 || c.depth_multiplier < 1 {
            return Err(self.config_error(&format!(
                "filters and depth_multiplier must be >= 1, got {} and {}",
                c.filters, c.depth_multiplier
            )));
        }
        match check_conv_options(c.kernel_size.arr(), c.strides.arr(), c.dilation_rate.arr()) {
            Some(p) => Err(self.config_error(&p)),
            None => Ok(()),
        }
    }
}

impl SerializableLayer for SeparableConv2D {
    const CLASS_NAME: &'static str = "SeparableConv2D";
    type Config = SeparableConv2DConfig;

    fn from_config(config: SeparableConv2DConfig) -> Self {
        SeparableConv2D {
            config,
            depthwise: None,
            pointwise: None,
            bias: None,
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
        self.validate()?;
        let [_, h, w] = super::expect_chw(self, input_shape)?;
        let c = &self.config;
        let [oh, ow] = conv_output_hw([h, w], c.kernel_size, c.strides, c.dilation_rate, c.padding)
            .ok_or_else(|| {
                self.shape_error(
                    &format!(
                        "an image at least as large as the {:?} kernel",
                        c.kernel_size
                    ),
                    input_shape,
                )
            })?;
        Ok(vec![c.filters, oh, ow])
    }

    fn build(&mut self, input_shape: &[i64], device: Device) -> Result<Vec<i64>> {
        let out = self.compute_output_shape(input_shape)?;
        let c = &self.config;
        let cin = input_shape[0];
        let (kh, kw, m, f) = (
            c.kernel_size.0,
            c.kernel_size.1,
            c.depth_multiplier,
            c.filters,
        );
        let dw = c
            .depthwise_initializer
            .init(&[cin * m, 1, kh, kw], &[kh, kw, cin, m], device)?;
        let pw = c
            .pointwise_initializer
            .init(&[f, cin * m, 1, 1], &[1, 1, cin * m, f], device)?;
        self.depthwise = Some(Param::trainable("depthwise_kernel", dw));
        self.pointwise = Some(Param::trainable("pointwise_kernel", pw));
        self.bias = if c.use_bias {
            Some(Param::trainable(
                "bias",
                c.bias_initializer.init(&[f], &[f], device)?,
            ))
        } else {
            None
        };
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
        self.depthwise
            .iter()
            .chain(self.pointwise.iter())
            .chain(self.bias.iter())
            .collect()
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.depthwise
            .iter_mut()
            .chain(self.pointwise.iter_mut())
            .chain(self.bias.iter_mut())
            .collect()
    }

    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        self.check_input(x)?;
        let (Some(dw), Some(pw)) = (&self.depthwise, &self.pointwise) else {
            return Err(self.config_error("called before being built"));
        };
        let c = &self.config;
        let groups = x.size()[1];
        let h = conv2d_keras(
            x,
            &dw.tensor,
            None,
            c.strides.arr(),
            c.padding,
            c.dilation_rate.arr(),
            groups,
        )?;
        let bias = self.bias.as_ref().map(|b| &b.tensor);
        let y = h.f_conv2d(&pw.tensor, bias, [1, 1], [0, 0], [1, 1], 1)?;
        c.activation.apply(&y)
    }

    fn regularization_loss(&self) -> Result<Option<Tensor>> {
        let c = &self.config;
        let mut total = None;
        if let Some(k) = &self.depthwise {
            total = add_penalty(total, c.depthwise_regularizer, &k.tensor)?;
        }
        if let Some(k) = &self.pointwise {
            total = add_penalty(total, c.pointwise_regularizer, &k.tensor)?;
        }
        if let Some(b) = &self.bias {
            total = add_penalty(total, c.bias_regularizer, &b.tensor)?;
        }
        Ok(total)
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::new::<Self>(&self.config)
    }
}
