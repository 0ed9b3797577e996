//! `Conv2D`: 2-D convolution with Keras' options and TF-style `same` padding.

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
    /// Kernel initializer (glorot_uniform).
    pub kernel_initializer: Initializer,
    /// Penalty on the kernel.
    #[serde(default)]
    pub kernel_regularizer: Option<Regularizer>,
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
    input_shape: Option<Vec<i64>>,
}

impl Conv2D {
    /// `filters` output channels, square or `(h, w)` kernel; stride 1, `valid`, no activation.
    pub fn new(filters: i64, kernel_size: impl Into<Pair>) -> Self {
        Self::from_config(Conv2DConfig {
            common: LayerCommon::new(),
            filters,
            window: ConvWindow::new(kernel_size.into()),
            units: UnitOptions::default(),
            kernel_initializer: Initializer::GlorotUniform,
            kernel_regularizer: None,
        })
    }

    conv_window_setters!();
    unit_setters!();

    /// Sets the kernel initializer.
    pub fn kernel_initializer(mut self, i: Initializer) -> Self {
        self.config.kernel_initializer = i;
        self
    }
    /// Sets the kernel regularizer.
    pub fn kernel_regularizer(mut self, r: Regularizer) -> Self {
        self.config.kernel_regularizer = Some(r);
        self
    }

    /// The configuration.
    pub fn conv_config(&self) -> &Conv2DConfig {
        &self.config
    }
}

impl SerializableLayer for Conv2D {
    const CLASS_NAME: &'static str = "Conv2D";
    type Config = Conv2DConfig;

    fn from_config(config: Conv2DConfig) -> Self {
        Conv2D {
            config,
            weights: KernelBias::default(),
            input_shape: None,
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
        if c.filters < 1 {
            return Err(self.config_error(&format!("filters must be >= 1, got {}", c.filters)));
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
        let (cin, f) = (input_shape[0], c.filters);
        let Pair(kh, kw) = c.window.kernel_size;
        let kernel = KernelSpec {
            name: "kernel",
            shape: &[f, cin, kh, kw],
            keras_shape: &[kh, kw, cin, f],
            initializer: c.kernel_initializer,
            regularizer: c.kernel_regularizer,
        };
        self.weights = KernelBias::build(&[kernel], f, &c.units, device)?;
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
            conv2d_keras_folded(x, kernel, bias, (scale, shift), &c.window, 1)
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
        let y = conv2d_keras(x, kernel, self.weights.bias(), &c.window, 1)?;
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
