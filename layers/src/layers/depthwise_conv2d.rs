//! `DepthwiseConv2D`: one (or `depth_multiplier`) spatial filter per input channel.

use serde::{Deserialize, Serialize};

use crate::layers::conv_options::{
    check_counts, conv_window_setters, kernel_setters, unit_setters, ConvWindow, UnitOptions,
};
use crate::layers::initializers::Initializer;
use crate::layers::layer::{Layer, LayerCommon, Pair, SerializableLayer};
use crate::layers::regularizers::Regularizer;
use crate::Result;

use super::conv_common::conv_forward;
use super::kernel_bias::{kernel_bias_layer, KernelBias, KernelSpec};

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

    conv_window_setters!(window);
    unit_setters!(units);
    kernel_setters!(depthwise_initializer, depthwise_regularizer);

    /// The configuration.
    pub fn depthwise_config(&self) -> &DepthwiseConv2DConfig {
        &self.config
    }

    /// Sets the number of filters per input channel.
    pub fn depth_multiplier(mut self, m: i64) -> Self {
        self.config.depth_multiplier = m;
        self
    }

    fn kernel_specs(&self, input_shape: &[i64]) -> (Vec<KernelSpec>, i64) {
        let c = &self.config;
        let (cin, m) = (input_shape[0], c.depth_multiplier);
        let Pair(kh, kw) = c.window.kernel_size;
        let kernel = KernelSpec {
            name: "kernel",
            shape: vec![cin * m, 1, kh, kw],
            keras_shape: vec![kh, kw, cin, m],
            initializer: c.depthwise_initializer,
            regularizer: c.depthwise_regularizer,
        };
        (vec![kernel], cin * m)
    }
}

impl SerializableLayer for DepthwiseConv2D {
    const CLASS_NAME: &'static str = "DepthwiseConv2D";
    type Config = DepthwiseConv2DConfig;

    fn from_config(config: DepthwiseConv2DConfig) -> Self {
        DepthwiseConv2D {
            config,
            weights: KernelBias::default(),
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
        check_counts(self, &[("depth_multiplier", c.depth_multiplier)])?;
        c.window
            .output_shape(self, input_shape, |ch| ch * c.depth_multiplier)
    }

    kernel_bias_layer!(units);
    conv_forward!(; |x| x.size()[1]);
}
