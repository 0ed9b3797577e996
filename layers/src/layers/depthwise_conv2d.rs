//! `DepthwiseConv2D`: one (or `depth_multiplier`) spatial filter per input channel.

use convkit_tensor::tch::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::layers::activations::Activation;
use crate::layers::conv_options::{conv_window_setters, unit_setters, ConvWindow, UnitOptions};
use crate::layers::initializers::Initializer;
use crate::layers::layer::{Layer, LayerCommon, LayerConfig, Pair, Param, SerializableLayer};
use crate::layers::regularizers::Regularizer;
use crate::Result;

use super::conv_common::{conv2d_keras, conv2d_keras_folded};
use super::kernel_bias::{KernelBias, KernelSpec};

/// Configuration of [`DepthwiseConv2D`] (Keras' constructor arguments).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DepthwiseConv2DConfig {
    /// Name, trainable, input shape.
    #[serde(flatten)]
    pub common: LayerCommon,
    /// Kernel size, strides, padding, dilation.
    #[serde(flatten)]
    pub window: ConvWindow,
    /// Output channels per input channel.
    pub depth_multiplier: i64,
    /// Activation, bias, bias and activity regularizers.
    #[serde(flatten)]
    pub units: UnitOptions,
    /// Kernel initializer (glorot_uniform).
    pub depthwise_initializer: Initializer,
    /// Penalty on the kernel.
    #[serde(default)]
    pub depthwise_regularizer: Option<Regularizer>,
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
    weights: KernelBias,
    input_shape: Option<Vec<i64>>,
}

impl DepthwiseConv2D {
    /// A square or `(h, w)` kernel; stride 1, `valid`, depth multiplier 1, bias, no activation.
    pub fn new(kernel_size: impl Into<Pair>) -> Self {
        Self::from_config(DepthwiseConv2DConfig {
            common: LayerCommon::new(),
            window: ConvWindow::new(kernel_size.into()),
            depth_multiplier: 1,
            units: UnitOptions::default(),
            depthwise_initializer: Initializer::GlorotUniform,
            depthwise_regularizer: None,
        })
    }

    conv_window_setters!();
    unit_setters!();

    /// Sets the number of filters per input channel.
    pub fn depth_multiplier(mut self, m: i64) -> Self {
        self.config.depth_multiplier = m;
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
}

impl SerializableLayer for DepthwiseConv2D {
    const CLASS_NAME: &'static str = "DepthwiseConv2D";
    type Config = DepthwiseConv2DConfig;

    fn from_config(config: DepthwiseConv2DConfig) -> Self {
        DepthwiseConv2D {
            config,
            weights: KernelBias::default(),
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
        let c = &self.config;
        if c.depth_multiplier < 1 {
            return Err(self.config_error(&format!(
                "depth_multiplier must be >= 1, got {}",
                c.depth_multiplier
            )));
        }
        if let Some(p) = c.window.problem() {
            return Err(self.config_error(&p));
        }
        let [ch, h, w] = super::expect_chw(self, input_shape)?;
        let [oh, ow] = c
            .window
            .output_hw([h, w])
            .ok_or_else(|| self.shape_error(&c.window.min_input(), input_shape))?;
        Ok(vec![ch * c.depth_multiplier, oh, ow])
    }

    fn build(&mut self, input_shape: &[i64], device: Device) -> Result<Vec<i64>> {
        let out = self.compute_output_shape(input_shape)?;
        let c = &self.config;
        let (cin, m) = (input_shape[0], c.depth_multiplier);
        let Pair(kh, kw) = c.window.kernel_size;
        let kernel = KernelSpec {
            name: "kernel",
            shape: &[cin * m, 1, kh, kw],
            keras_shape: &[kh, kw, cin, m],
            initializer: c.depthwise_initializer,
            regularizer: c.depthwise_regularizer,
        };
        self.weights = KernelBias::build(&[kernel], cin * m, &c.units, device)?;
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

    fn forward_folded(&self, x: &Tensor, scale: &Tensor, shift: &Tensor) -> Option<Result<Tensor>> {
        let c = &self.config;
        if c.units.activation != Activation::Linear {
            return None;
        }
        let kernel = self.weights.kernel(0)?;
        let run = || -> Result<Tensor> {
            self.check_input(x)?;
            let bias = self.weights.bias();
            conv2d_keras_folded(x, kernel, bias, (scale, shift), &c.window, x.size()[1])
        };
        Some(run())
    }

    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        self.check_input(x)?;
        let kernel = self
            .weights
            .kernel(0)
            .ok_or_else(|| self.config_error("called before being built"))?;
        let c = &self.config;
        let groups = x.size()[1];
        let y = conv2d_keras(x, kernel, self.weights.bias(), &c.window, groups)?;
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
