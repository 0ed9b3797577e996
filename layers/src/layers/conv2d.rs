//! `Conv2D`: 2-D convolution with Keras' options and TF-style `same` padding.

use convkit_tensor::tch::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::layers::activations::Activation;
use crate::layers::initializers::Initializer;
use crate::layers::layer::{Layer, LayerCommon, LayerConfig, Pair, Param, SerializableLayer};
use crate::layers::padding::{output_size, Padding};
use crate::layers::regularizers::Regularizer;

use super::conv_common::{conv2d_keras, conv2d_keras_folded};
use super::kernel_bias::KernelBias;
use crate::Result;

/// Configuration of [`Conv2D`] (Keras' constructor arguments).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Conv2DConfig {
    /// Name, trainable, input shape.
    #[serde(flatten)]
    pub common: LayerCommon,
    /// Number of output channels.
    pub filters: i64,
    /// Kernel height and width.
    pub kernel_size: Pair,
    /// Strides.
    pub strides: Pair,
    /// `valid` or `same`.
    pub padding: Padding,
    /// Dilation rate.
    pub dilation_rate: Pair,
    /// Activation applied to the output.
    pub activation: Activation,
    /// Whether a bias is added.
    pub use_bias: bool,
    /// Kernel initializer (glorot_uniform).
    pub kernel_initializer: Initializer,
    /// Bias initializer (zeros).
    pub bias_initializer: Initializer,
    /// Penalty on the kernel.
    pub kernel_regularizer: Option<Regularizer>,
    /// Penalty on the bias.
    pub bias_regularizer: Option<Regularizer>,
    /// Penalty on the output.
    pub activity_regularizer: Option<Regularizer>,
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
            kernel_size: kernel_size.into(),
            strides: Pair(1, 1),
            padding: Padding::Valid,
            dilation_rate: Pair(1, 1),
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            kernel_regularizer: None,
            bias_regularizer: None,
            activity_regularizer: None,
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
    pub fn kernel_initializer(mut self, i: Initializer) -> Self {
        self.config.kernel_initializer = i;
        self
    }
    /// Sets the bias initializer.
    pub fn bias_initializer(mut self, i: Initializer) -> Self {
        self.config.bias_initializer = i;
        self
    }
    /// Sets the kernel regularizer.
    pub fn kernel_regularizer(mut self, r: Regularizer) -> Self {
        self.config.kernel_regularizer = Some(r);
        self
    }
    /// Sets the bias regularizer.
    pub fn bias_regularizer(mut self, r: Regularizer) -> Self {
        self.config.bias_regularizer = Some(r);
        self
    }
    /// Sets the activity regularizer.
    pub fn activity_regularizer(mut self, r: Regularizer) -> Self {
        self.config.activity_regularizer = Some(r);
        self
    }

    /// The configuration.
    pub fn conv_config(&self) -> &Conv2DConfig {
        &self.config
    }

    fn effective_kernel(&self) -> [i64; 2] {
        let c = &self.config;
        [
            (c.kernel_size.0 - 1) * c.dilation_rate.0 + 1,
            (c.kernel_size.1 - 1) * c.dilation_rate.1 + 1,
        ]
    }

    fn validate(&self) -> Result<()> {
        let c = &self.config;
        let positive = [
            c.filters,
            c.kernel_size.0,
            c.kernel_size.1,
            c.strides.0,
            c.strides.1,
            c.dilation_rate.0,
            c.dilation_rate.1,
        ];
        if positive.iter().any(|&v| v < 1) {
            return Err(self.config_error(&format!(
                "filters, kernel_size, strides and dilation_rate must be >= 1 (filters {}, kernel_size {:?}, strides {:?}, dilation_rate {:?})",
                c.filters, c.kernel_size, c.strides, c.dilation_rate
            )));
        }
        if (c.strides.0 > 1 || c.strides.1 > 1) && (c.dilation_rate.0 > 1 || c.dilation_rate.1 > 1)
        {
            return Err(self.config_error(
                "strides > 1 cannot be combined with dilation_rate > 1 (as in Keras)",
            ));
        }
        Ok(())
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
        self.validate()?;
        let [_, h, w] = super::expect_chw(self, input_shape)?;
        let k = self.effective_kernel();
        let c = &self.config;
        let oh = output_size(h, k[0], c.strides.0, c.padding);
        let ow = output_size(w, k[1], c.strides.1, c.padding);
        if oh < 1 || ow < 1 {
            return Err(self.shape_error(
                &format!(
                    "height >= {} and width >= {} for a {:?} kernel with valid padding",
                    k[0], k[1], c.kernel_size
                ),
                input_shape,
            ));
        }
        Ok(vec![c.filters, oh, ow])
    }

    fn build(&mut self, input_shape: &[i64], device: Device) -> Result<Vec<i64>> {
        let out = self.compute_output_shape(input_shape)?;
        let c = &self.config;
        let cin = input_shape[0];
        let (kh, kw) = (c.kernel_size.0, c.kernel_size.1);
        let init = (c.kernel_initializer, c.bias_initializer);
        let (shape, keras_shape) = ([c.filters, cin, kh, kw], [kh, kw, cin, c.filters]);
        self.weights =
            KernelBias::build(&shape, &keras_shape, c.filters, c.use_bias, init, device)?;
        self.input_shape = Some(input_shape.to_vec());
        let t = self.config.common.trainable;
        if !t {
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
        if c.activation != Activation::Linear {
            return None;
        }
        let kernel = self.weights.kernel.as_ref()?;
        let run = || -> Result<Tensor> {
            self.check_input(x)?;
            conv2d_keras_folded(
                x,
                &kernel.tensor,
                self.weights.bias_tensor(),
                scale,
                shift,
                c.strides.arr(),
                c.padding,
                c.dilation_rate.arr(),
                1,
            )
        };
        Some(run())
    }

    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        self.check_input(x)?;
        let kernel = self
            .weights
            .kernel
            .as_ref()
            .ok_or_else(|| self.config_error("called before being built"))?;
        let c = &self.config;
        let y = conv2d_keras(
            x,
            &kernel.tensor,
            self.weights.bias_tensor(),
            c.strides.arr(),
            c.padding,
            c.dilation_rate.arr(),
            1,
        )?;
        c.activation.apply(&y)
    }

    fn regularization_loss(&self) -> Result<Option<Tensor>> {
        let c = &self.config;
        self.weights
            .regularization_loss(c.kernel_regularizer, c.bias_regularizer)
    }

    fn activity_regularizer(&self) -> Option<Regularizer> {
        self.config.activity_regularizer
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::new::<Self>(&self.config)
    }
}
