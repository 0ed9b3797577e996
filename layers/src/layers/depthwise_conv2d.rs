//! `DepthwiseConv2D`: one (or `depth_multiplier`) spatial filter per input channel.

use convkit_tensor::tch::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::layers::activations::Activation;
use crate::layers::initializers::Initializer;
use crate::layers::layer::{Layer, LayerCommon, LayerConfig, Pair, Param, SerializableLayer};
use crate::layers::padding::{output_size, Padding};
use crate::layers::regularizers::{add_penalty, Regularizer};
use crate::Result;

use super::conv_common::{check_conv_options, conv2d_keras, conv2d_keras_folded, effective_kernel};

/// Configuration of [`DepthwiseConv2D`] (Keras' constructor arguments).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DepthwiseConv2DConfig {
    /// Name, trainable, input shape.
    #[serde(flatten)]
    pub common: LayerCommon,
    /// Kernel height and width.
    pub kernel_size: Pair,
    /// Strides.
    pub strides: Pair,
    /// `valid` or `same`.
    pub padding: Padding,
    /// Output channels per input channel.
    pub depth_multiplier: i64,
    /// Dilation rate.
    pub dilation_rate: Pair,
    /// Activation applied to the output.
    pub activation: Activation,
    /// Whether a bias is added.
    pub use_bias: bool,
    /// Kernel initializer (glorot_uniform).
    pub depthwise_initializer: Initializer,
    /// Bias initializer (zeros).
    pub bias_initializer: Initializer,
    /// Penalty on the kernel.
    #[serde(default)]
    pub depthwise_regularizer: Option<Regularizer>,
    /// Penalty on the bias.
    #[serde(default)]
    pub bias_regularizer: Option<Regularizer>,
}

/// Depthwise 2-D convolution: every input channel is convolved with its own
/// `depth_multiplier` filters; no mixing across channels.
///
/// The kernel (Keras name `kernel`, Keras layout `(kh, kw, in, depth_multiplier)`) is stored
/// as libtorch's grouped weight `(in * depth_multiplier, 1, kh, kw)`; output channel
/// `i * depth_multiplier + m` is filter `m` of input channel `i`, as in Keras.
///
/// # Shapes
/// `(N, C, H, W)` -> `(N, C * depth_multiplier, H', W')` with `Conv2D`'s output sizes.
#[derive(Debug)]
pub struct DepthwiseConv2D {
    config: DepthwiseConv2DConfig,
    kernel: Option<Param>,
    bias: Option<Param>,
    input_shape: Option<Vec<i64>>,
}

impl DepthwiseConv2D {
    /// A square or `(h, w)` kernel; stride 1, `valid`, depth multiplier 1, bias, no activation.
    pub fn new(kernel_size: impl Into<Pair>) -> Self {
        Self::from_config(DepthwiseConv2DConfig {
            common: LayerCommon::new(),
            kernel_size: kernel_size.into(),
            strides: Pair(1, 1),
            padding: Padding::Valid,
            depth_multiplier: 1,
            dilation_rate: Pair(1, 1),
            activation: Activation::Linear,
            use_bias: true,
            depthwise_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            depthwise_regularizer: None,
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
    /// Sets the number of filters per input channel.
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
    /// Sets the kernel initializer.
    pub fn depthwise_initializer(mut self, i: Initializer) -> Self {
        self.config.depthwise_initializer = i;
        self
    }
    /// Sets the kernel regularizer.
    pub fn depthwise_regularizer(mut self, r: Regularizer) -> Self {
        self.config.depthwise_regularizer = Some(r);
        self
    }

    fn validate(&self) -> Result<()> {
        let c = &self.config;
        if c.depth_multiplier < 1 {
            return Err(self.config_error(&format!(
                "depth_multiplier must be >= 1, got {}",
                c.depth_multiplier
            )));
        }
        match check_conv_options(c.kernel_size.arr(), c.strides.arr(), c.dilation_rate.arr()) {
            Some(p) => Err(self.config_error(&p)),
            None => Ok(()),
        }
    }
}

/// Output `(H', W')` of a strided, dilated convolution, or `None` when the input is too small.
pub(crate) fn conv_output_hw(
    hw: [i64; 2],
    kernel: Pair,
    strides: Pair,
    dilation: Pair,
    padding: Padding,
) -> Option<[i64; 2]> {
    let k = effective_kernel(kernel.arr(), dilation.arr());
    let oh = output_size(hw[0], k[0], strides.0, padding);
    let ow = output_size(hw[1], k[1], strides.1, padding);
    (oh >= 1 && ow >= 1).then_some([oh, ow])
}

impl SerializableLayer for DepthwiseConv2D {
    const CLASS_NAME: &'static str = "DepthwiseConv2D";
    type Config = DepthwiseConv2DConfig;

    fn from_config(config: DepthwiseConv2DConfig) -> Self {
        DepthwiseConv2D {
            config,
            kernel: None,
            bias: None,
            input_shape: None,
        }
    }
}

impl Layer for DepthwiseConv2D {
    common_accessors!();

    fn class_name(&self) -> &'static str {
        Self::CLASS_NAME
    }
    fn base_name(&self) -> &'static str {
        "depthwise_conv2d"
    }

    fn compute_output_shape(&self, input_shape: &[i64]) -> Result<Vec<i64>> {
        self.validate()?;
        let [ch, h, w] = super::expect_chw(self, input_shape)?;
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
        Ok(vec![ch * c.depth_multiplier, oh, ow])
    }

    fn build(&mut self, input_shape: &[i64], device: Device) -> Result<Vec<i64>> {
        let out = self.compute_output_shape(input_shape)?;
        let c = &self.config;
        let cin = input_shape[0];
        let (kh, kw, m) = (c.kernel_size.0, c.kernel_size.1, c.depth_multiplier);
        let kernel =
            c.depthwise_initializer
                .init(&[cin * m, 1, kh, kw], &[kh, kw, cin, m], device)?;
        self.kernel = Some(Param::trainable("kernel", kernel));
        self.bias = if c.use_bias {
            let b = c.bias_initializer.init(&[cin * m], &[cin * m], device)?;
            Some(Param::trainable("bias", b))
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
        self.kernel.iter().chain(self.bias.iter()).collect()
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.kernel.iter_mut().chain(self.bias.iter_mut()).collect()
    }

    fn forward_folded(&self, x: &Tensor, scale: &Tensor, shift: &Tensor) -> Option<Result<Tensor>> {
        let c = &self.config;
        if c.activation != Activation::Linear {
            return None;
        }
        let kernel = self.kernel.as_ref()?;
        let run = || -> Result<Tensor> {
            self.check_input(x)?;
            conv2d_keras_folded(
                x,
                &kernel.tensor,
                self.bias.as_ref().map(|b| &b.tensor),
                scale,
                shift,
                c.strides.arr(),
                c.padding,
                c.dilation_rate.arr(),
                x.size()[1],
            )
        };
        Some(run())
    }

    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        self.check_input(x)?;
        let kernel = self
            .kernel
            .as_ref()
            .ok_or_else(|| self.config_error("called before being built"))?;
        let c = &self.config;
        let groups = x.size()[1];
        let y = conv2d_keras(
            x,
            &kernel.tensor,
            self.bias.as_ref().map(|b| &b.tensor),
            c.strides.arr(),
            c.padding,
            c.dilation_rate.arr(),
            groups,
        )?;
        c.activation.apply(&y)
    }

    fn regularization_loss(&self) -> Result<Option<Tensor>> {
        let c = &self.config;
        let mut total = None;
        if let Some(k) = &self.kernel {
            total = add_penalty(total, c.depthwise_regularizer, &k.tensor)?;
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
