//! `Conv2D`: 2-D convolution with Keras' options and TF-style `same` padding.

use serde::{Deserialize, Serialize};

use crate::layers::conv_options::{
    check_counts, conv_window_setters, kernel_setters, unit_setters, ConvWindow, KernelOptions,
    UnitOptions,
};
use crate::layers::layer::{Layer, LayerCommon, Pair, SerializableLayer};
use crate::Result;

use super::conv_common::conv_forward;
use super::kernel_bias::{kernel_bias_layer, KernelBias, KernelSpec};

/// Configuration of [`Conv2D`] (Keras' constructor arguments).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Conv2DConfig {
    /// Name, trainable, input shape.
    #[serde(flatten)]
    pub common: LayerCommon,
    /// Number of output channels.
    pub filters: i64,
    /// Kernel size, strides, padding, dilation.
    #[serde(flatten)]
    pub window: ConvWindow,
    /// Activation, bias, bias and activity regularizers.
    #[serde(flatten)]
    pub units: UnitOptions,
    /// Kernel initializer and regularizer.
    #[serde(flatten)]
    pub kernel: KernelOptions,
}

/// 2-D convolution over NCHW inputs.
///
/// The kernel is stored in libtorch's layout `(filters, in_channels, kh, kw)`; Keras stores
/// `(kh, kw, in_channels, filters)`. Parameter counts and initialisation fans are Keras'.
///
/// # Shapes
/// `(N, C, H, W)` -> `(N, filters, H', W')`, `H' = ceil(H / s)` for `same`,
/// `floor((H - (k - 1) * d - 1) / s) + 1` for `valid`.
///
/// # Example
/// ```
/// use convkit_layers::{layers::Conv2D, Activation, Padding};
/// let conv = Conv2D::new(32, 3).activation(Activation::Relu).padding(Padding::Same).strides(2);
/// ```
#[derive(Debug)]
pub struct Conv2D {
    config: Conv2DConfig,
    weights: KernelBias,
}

impl Conv2D {
    /// `filters` output channels, square or `(h, w)` kernel; stride 1, `valid`, no activation.
    pub fn new(filters: i64, kernel_size: impl Into<Pair>) -> Self {
        Self::from_config(Conv2DConfig {
            common: LayerCommon::new(),
            filters,
            window: ConvWindow::new(kernel_size.into()),
            units: UnitOptions::default(),
            kernel: KernelOptions::default(),
        })
    }

    conv_window_setters!(window);
    unit_setters!(units);
    kernel_setters!(kernel: kernel_initializer, kernel_regularizer);

    /// The configuration.
    pub fn conv_config(&self) -> &Conv2DConfig {
        &self.config
    }

    fn kernel_specs(&self, input_shape: &[i64]) -> (Vec<KernelSpec>, i64) {
        let c = &self.config;
        let (cin, f) = (input_shape[0], c.filters);
        let Pair(kh, kw) = c.window.kernel_size;
        let kernel = KernelSpec::new("kernel", &c.kernel, [f, cin, kh, kw], [kh, kw, cin, f]);
        (vec![kernel], f)
    }
}

impl SerializableLayer for Conv2D {
    const CLASS_NAME: &'static str = "Conv2D";
    type Config = Conv2DConfig;

    fn from_config(config: Conv2DConfig) -> Self {
        Conv2D {
            config,
            weights: KernelBias::default(),
        }
    }
}

impl Layer for Conv2D {
    common_accessors!();

    fn class_name(&self) -> &'static str {
        Self::CLASS_NAME
    }
    fn base_name(&self) -> &'static str {
        "conv2d"
    }

    fn compute_output_shape(&self, input_shape: &[i64]) -> Result<Vec<i64>> {
        let c = &self.config;
        check_counts(self, &[("filters", c.filters)])?;
        c.window.output_shape(self, input_shape, |_| c.filters)
    }

    kernel_bias_layer!(units);

    conv_forward!(; |x| 1);
}
