//! The options that `Dense` and the convolutions share, as Keras' constructor arguments:
//! the convolution window ([`ConvWindow`]: kernel size, strides, padding, dilation) and what
//! every layer with a kernel and a bias takes ([`UnitOptions`]: activation, bias and
//! regularizers). Each is one block of a layer's configuration, flattened into its JSON, and
//! comes with its setters and validation.

use serde::{Deserialize, Serialize};

use crate::layers::activations::Activation;
use crate::layers::initializers::Initializer;
use crate::layers::layer::Pair;
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

/// Builder methods of a layer whose configuration holds a [`ConvWindow`] in `window`.
macro_rules! conv_window_setters {
    () => {
        /// Sets the strides.
        pub fn strides(mut self, s: impl Into<$crate::layers::layer::Pair>) -> Self {
            self.config.window.strides = s.into();
            self
        }
        /// Sets the padding.
        pub fn padding(mut self, p: $crate::layers::padding::Padding) -> Self {
            self.config.window.padding = p;
            self
        }
        /// Sets the dilation rate.
        pub fn dilation_rate(mut self, d: impl Into<$crate::layers::layer::Pair>) -> Self {
            self.config.window.dilation_rate = d.into();
            self
        }
    };
}
pub(crate) use conv_window_setters;

/// Builder methods of a layer whose configuration holds [`UnitOptions`] in `units` (or the
/// field named).
macro_rules! unit_setters {
    () => {
        unit_setters!(units);
    };
    ($field:ident) => {
        /// Sets the activation.
        pub fn activation(mut self, a: $crate::layers::activations::Activation) -> Self {
            self.config.$field.activation = a;
            self
        }
        /// Enables or disables the bias.
        pub fn use_bias(mut self, b: bool) -> Self {
            self.config.$field.use_bias = b;
            self
        }
        /// Sets the bias initializer.
        pub fn bias_initializer(mut self, i: $crate::layers::initializers::Initializer) -> Self {
            self.config.$field.bias_initializer = i;
            self
        }
        /// Sets the bias regularizer.
        pub fn bias_regularizer(mut self, r: $crate::layers::regularizers::Regularizer) -> Self {
            self.config.$field.bias_regularizer = Some(r);
            self
        }
        /// Sets the activity regularizer (a penalty on the output).
        pub fn activity_regularizer(
            mut self,
            r: $crate::layers::regularizers::Regularizer,
        ) -> Self {
            self.config.$field.activity_regularizer = Some(r);
            self
        }
    };
}
pub(crate) use unit_setters;
