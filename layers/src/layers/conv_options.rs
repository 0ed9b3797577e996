//! The options that `Dense` and the convolutions share, as Keras' constructor arguments:
//! the convolution window ([`ConvWindow`]: kernel size, strides, padding, dilation) and what
//! every layer with a kernel and a bias takes ([`UnitOptions`]: activation, bias and
//! regularizers). Each is one block of a layer's configuration, flattened into its JSON, and
//! comes with its setters and validation.

use serde::{Deserialize, Serialize};

use crate::layers::activations::Activation;
use crate::layers::initializers::Initializer;
use crate::layers::layer::{Layer, Pair};
use crate::layers::padding::{output_size, Padding};
use crate::layers::regularizers::Regularizer;

/// The window of a 2-D convolution.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConvWindow {
    /// Kernel height and width.
    pub kernel_size: Pair,
    /// Strides.
    pub strides: Pair,
    /// `valid` or `same`.
    pub padding: Padding,
    /// Dilation rate.
    pub dilation_rate: Pair,
}

impl ConvWindow {
    /// A `kernel_size` window, stride 1, `valid`, no dilation (Keras' defaults).
    pub fn new(kernel_size: Pair) -> Self {
        ConvWindow {
            kernel_size,
            strides: Pair(1, 1),
            padding: Padding::Valid,
            dilation_rate: Pair(1, 1),
        }
    }

    /// The kernel size with dilation: `(k - 1) * d + 1`.
    pub fn effective_kernel(&self) -> [i64; 2] {
        let (k, d) = (self.kernel_size, self.dilation_rate);
        [(k.0 - 1) * d.0 + 1, (k.1 - 1) * d.1 + 1]
    }

    /// The problem with these options, if any: sizes below 1, or strides and dilation both
    /// above 1 (which Keras refuses).
    pub fn problem(&self) -> Option<String> {
        let (k, s, d) = (self.kernel_size, self.strides, self.dilation_rate);
        if [k.0, k.1, s.0, s.1, d.0, d.1].iter().any(|&v| v < 1) {
            return Some(format!(
                "kernel_size, strides and dilation_rate must be >= 1, got kernel_size {k}, \
                 strides {s}, dilation_rate {d}"
            ));
        }
        if (s.0 > 1 || s.1 > 1) && (d.0 > 1 || d.1 > 1) {
            return Some(
                "strides > 1 cannot be combined with dilation_rate > 1 (as in Keras)".into(),
            );
        }
        None
    }

    /// Output `(H', W')` of the convolution for input `(H, W)`, or `None` when the input is
    /// smaller than the (dilated) kernel.
    pub fn output_hw(&self, hw: [i64; 2]) -> Option<[i64; 2]> {
        let k = self.effective_kernel();
        let oh = output_size(hw[0], k[0], self.strides.0, self.padding);
        let ow = output_size(hw[1], k[1], self.strides.1, self.padding);
        (oh >= 1 && ow >= 1).then_some([oh, ow])
    }

    /// The output shape `(out_channels, H', W')` for a `(C, H, W)` input of `layer`, after
    /// checking the options.
    pub(crate) fn output_shape(
        &self,
        layer: &dyn Layer,
        input_shape: &[i64],
        out_channels: impl FnOnce(i64) -> i64,
    ) -> crate::Result<Vec<i64>> {
        if let Some(p) = self.problem() {
            return Err(layer.config_error(&p));
        }
        let [c, h, w] = super::expect_chw(layer, input_shape)?;
        let [oh, ow] = self
            .output_hw([h, w])
            .ok_or_else(|| layer.shape_error(&self.min_input(), input_shape))?;
        Ok(vec![out_channels(c), oh, ow])
    }

    /// What the input must be for [`ConvWindow::output_hw`] to give a non-empty output.
    pub fn min_input(&self) -> String {
        let k = self.effective_kernel();
        format!(
            "height >= {} and width >= {} for a {} kernel with {} padding",
            k[0], k[1], self.kernel_size, self.padding
        )
    }
}

/// What every layer with a kernel and a bias takes besides its kernel's own options.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UnitOptions {
    /// Activation applied to the output.
    pub activation: Activation,
    /// Whether a bias is added.
    pub use_bias: bool,
    /// Bias initializer (zeros).
    pub bias_initializer: Initializer,
    /// Penalty on the bias.
    #[serde(default)]
    pub bias_regularizer: Option<Regularizer>,
    /// Penalty on the output.
    #[serde(default)]
    pub activity_regularizer: Option<Regularizer>,
}

impl Default for UnitOptions {
    /// Keras' defaults: no activation, a zero-initialised bias, no penalty.
    fn default() -> Self {
        UnitOptions {
            activation: Activation::Linear,
            use_bias: true,
            bias_initializer: Initializer::Zeros,
            bias_regularizer: None,
            activity_regularizer: None,
        }
    }
}

/// Checks that each named count (`filters`, `units`...) is at least 1.
pub(crate) fn check_counts(layer: &dyn Layer, counts: &[(&str, i64)]) -> crate::Result<()> {
    match counts.iter().find(|(_, v)| *v < 1) {
        Some((name, v)) => Err(layer.config_error(&format!("{name} must be >= 1, got {v}"))),
        None => Ok(()),
    }
}

/// How a layer's kernel is initialised and penalised (Keras' `kernel_initializer` and
/// `kernel_regularizer`, for `Dense`, `Conv2D` and `Conv2DTranspose`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KernelOptions {
    /// Kernel initializer (glorot_uniform).
    pub kernel_initializer: Initializer,
    /// Penalty on the kernel.
    #[serde(default)]
    pub kernel_regularizer: Option<Regularizer>,
}

impl Default for KernelOptions {
    /// Keras' defaults: glorot_uniform, no penalty.
    fn default() -> Self {
        KernelOptions {
            kernel_initializer: Initializer::GlorotUniform,
            kernel_regularizer: None,
        }
    }
}

/// Builder methods of a layer whose configuration holds a [`ConvWindow`] at `config.$path`.
macro_rules! conv_window_setters {
    ($($path:ident).+) => {
        /// Sets the strides.
        pub fn strides(mut self, s: impl Into<$crate::layers::layer::Pair>) -> Self {
            self.config.$($path).+.strides = s.into();
            self
        }
        /// Sets the padding.
        pub fn padding(mut self, p: $crate::layers::padding::Padding) -> Self {
            self.config.$($path).+.padding = p;
            self
        }
        /// Sets the dilation rate.
        pub fn dilation_rate(mut self, d: impl Into<$crate::layers::layer::Pair>) -> Self {
            self.config.$($path).+.dilation_rate = d.into();
            self
        }
    };
}
pub(crate) use conv_window_setters;

/// Builder methods of a layer whose configuration holds [`UnitOptions`] at `config.$path`.
macro_rules! unit_setters {
    ($($path:ident).+) => {
        /// Sets the activation.
        pub fn activation(mut self, a: $crate::layers::activations::Activation) -> Self {
            self.config.$($path).+.activation = a;
            self
        }
        /// Enables or disables the bias.
        pub fn use_bias(mut self, b: bool) -> Self {
            self.config.$($path).+.use_bias = b;
            self
        }
        /// Sets the bias initializer.
        pub fn bias_initializer(mut self, i: $crate::layers::initializers::Initializer) -> Self {
            self.config.$($path).+.bias_initializer = i;
            self
        }
        /// Sets the bias regularizer.
        pub fn bias_regularizer(mut self, r: $crate::layers::regularizers::Regularizer) -> Self {
            self.config.$($path).+.bias_regularizer = Some(r);
            self
        }
        /// Sets the activity regularizer (a penalty on the output).
        pub fn activity_regularizer(
            mut self,
            r: $crate::layers::regularizers::Regularizer,
        ) -> Self {
            self.config.$($path).+.activity_regularizer = Some(r);
            self
        }
    };
}
pub(crate) use unit_setters;

/// Builder methods of an initializer and a regularizer of a kernel: `$init` and `$reg` set
/// `config.$init` and `config.$reg` (`kernel_initializer`, `depthwise_regularizer`...).
macro_rules! kernel_setters {
    ($($path:ident).+ : $init:ident, $reg:ident) => {
        #[doc = concat!("Sets `", stringify!($init), "`.")]
        pub fn $init(mut self, i: $crate::layers::initializers::Initializer) -> Self {
            self.config.$($path).+.$init = i;
            self
        }
        #[doc = concat!("Sets `", stringify!($reg), "`.")]
        pub fn $reg(mut self, r: $crate::layers::regularizers::Regularizer) -> Self {
            self.config.$($path).+.$reg = Some(r);
            self
        }
    };
    ($init:ident, $reg:ident) => {
        #[doc = concat!("Sets `", stringify!($init), "`.")]
        pub fn $init(mut self, i: $crate::layers::initializers::Initializer) -> Self {
            self.config.$init = i;
            self
        }
        #[doc = concat!("Sets `", stringify!($reg), "`.")]
        pub fn $reg(mut self, r: $crate::layers::regularizers::Regularizer) -> Self {
            self.config.$reg = Some(r);
            self
        }
    };
}
pub(crate) use kernel_setters;
