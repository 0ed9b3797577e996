//! `Conv2DTranspose`: the transposed ("deconvolution") layer that upsamples in segmentation
//! decoders.

use convkit_tensor::tch::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::activations::Activation;
use crate::config::LayerConfig;
use crate::initializers::Initializer;
use crate::layer::Param;
use crate::layer::{Layer, LayerCommon, Pair};
use crate::padding::Padding;
use crate::regularizers::Regularizer;
use crate::Result;

use super::conv_common::check_conv_options;
use super::kernel_bias::KernelBias;

/// Configuration of [`Conv2DTranspose`] (Keras' constructor arguments).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Conv2DTransposeConfig {
    /// Name, trainable, input shape.
    #[serde(flatten)]
    pub common: LayerCommon,
    /// Number of output channels.
    pub filters: i64,
    /// Kernel height and width.
    pub kernel_size: Pair,
    /// Strides (the upsampling factor).
    pub strides: Pair,
    /// `valid` or `same`.
    pub padding: Padding,
    /// Extra rows/columns added at the bottom/right; `None` lets the padding decide.
    #[serde(default)]
    pub output_padding: Option<Pair>,
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
    #[serde(default)]
    pub kernel_regularizer: Option<Regularizer>,
    /// Penalty on the bias.
    #[serde(default)]
    pub bias_regularizer: Option<Regularizer>,
}

/// Transposed 2-D convolution.
///
/// The kernel is stored in libtorch's `(in_channels, filters, kh, kw)` layout (Keras:
/// `(kh, kw, filters, in_channels)`). Output sizes are Keras': `valid` gives
/// `(n - 1) * s + max(k, s)`, `same` gives `n * s`; with `output_padding` `p`,
/// `(n - 1) * s + k - 2 * pad + p` (`pad = k // 2` for `same`, 0 for `valid`), `k` being the
/// dilated kernel. Where the padding is split unevenly the crop follows Keras' torch
/// backend (which can sit one pixel away from TensorFlow's for odd kernels and stride > 1).
///
/// # Shapes
/// `(N, C, H, W)` -> `(N, filters, H', W')`.
#[derive(Debug)]
pub struct Conv2DTranspose {
    config: Conv2DTransposeConfig,
    weights: KernelBias,
    input_shape: Option<Vec<i64>>,
}

/// libtorch's `(padding, output_padding)` along one axis for Keras' options, as Keras' torch
/// backend converts them (`_convert_conv_transpose_padding_args_from_keras_to_torch`).
fn torch_padding(
    k: i64,
    s: i64,
    d: i64,
    padding: Padding,
    output_padding: Option<i64>,
) -> (i64, i64) {
    let k = (k - 1) * d + 1;
    match padding {
        Padding::Valid => (0, output_padding.unwrap_or((k.max(s)) - k)),
        Padding::Same => {
            let op = output_padding.unwrap_or(s - k % 2);
            let p = (-((k % 2 - k + op).div_euclid(2))).max(0);
            (p, 2 * p + k % 2 - k + op)
        }
    }
}

impl Conv2DTranspose {
    /// `filters` output channels, square or `(h, w)` kernel; stride 1, `valid`, no activation.
    pub fn new(filters: i64, kernel_size: impl Into<Pair>) -> Self {
        Self::from_config(Conv2DTransposeConfig {
            common: LayerCommon::new(),
            filters,
            kernel_size: kernel_size.into(),
            strides: Pair(1, 1),
            padding: Padding::Valid,
            output_padding: None,
            dilation_rate: Pair(1, 1),
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            kernel_regularizer: None,
            bias_regularizer: None,
        })
    }

    /// A layer from its configuration (unbuilt).
    pub fn from_config(config: Conv2DTransposeConfig) -> Self {
        Conv2DTranspose {
            config,
            weights: KernelBias::default(),
            input_shape: None,
        }
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
    /// Sets the output padding.
    pub fn output_padding(mut self, p: impl Into<Pair>) -> Self {
        self.config.output_padding = Some(p.into());
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

    /// libtorch's padding and output padding per axis.
    fn torch_args(&self) -> ([i64; 2], [i64; 2]) {
        let c = &self.config;
        let axis = |i: usize| {
            torch_padding(
                c.kernel_size.arr()[i],
                c.strides.arr()[i],
                c.dilation_rate.arr()[i],
                c.padding,
                c.output_padding.map(|p| p.arr()[i]),
            )
        };
        let (a, b) = (axis(0), axis(1));
        ([a.0, b.0], [a.1, b.1])
    }

    fn validate(&self) -> Result<()> {
        let c = &self.config;
        if c.filters < 1 {
            return Err(self.config_error(&format!("filters must be >= 1, got {}", c.filters)));
        }
        if let Some(p) =
            check_conv_options(c.kernel_size.arr(), c.strides.arr(), c.dilation_rate.arr())
        {
            return Err(self.config_error(&p));
        }
        let (_, out_pad) = self.torch_args();
        let limits = [
            c.strides.0.max(c.dilation_rate.0),
            c.strides.1.max(c.dilation_rate.1),
        ];
        for (pad, limit) in out_pad.into_iter().zip(limits) {
            if pad < 0 || pad >= limit {
                return Err(self.config_error(&format!(
                    "output_padding {:?} is not possible with strides {:?} and padding {:?}: the effective output padding must lie in [0, max(stride, dilation))",
                    c.output_padding, c.strides, c.padding
                )));
            }
        }
        Ok(())
    }
}

impl Layer for Conv2DTranspose {
    common_accessors!();

    fn class_name(&self) -> &'static str {
        "Conv2DTranspose"
    }
    fn base_name(&self) -> &'static str {
        "conv2d_transpose"
    }

    fn compute_output_shape(&self, input_shape: &[i64]) -> Result<Vec<i64>> {
        self.validate()?;
        let [_, h, w] = super::expect_chw(self, input_shape)?;
        let c = &self.config;
        let (pad, out_pad) = self.torch_args();
        let hw = [h, w];
        let mut out = [0; 2];
        for i in 0..2 {
            let k = (c.kernel_size.arr()[i] - 1) * c.dilation_rate.arr()[i] + 1;
            out[i] = (hw[i] - 1) * c.strides.arr()[i] - 2 * pad[i] + k + out_pad[i];
        }
        if out[0] < 1 || out[1] < 1 {
            return Err(self.shape_error("a non-empty image", input_shape));
        }
        Ok(vec![c.filters, out[0], out[1]])
    }

    fn build(&mut self, input_shape: &[i64], device: Device) -> Result<Vec<i64>> {
        let out = self.compute_output_shape(input_shape)?;
        let c = &self.config;
        let cin = input_shape[0];
        let (kh, kw) = (c.kernel_size.0, c.kernel_size.1);
        let init = (c.kernel_initializer, c.bias_initializer);
        let (shape, keras_shape) = ([cin, c.filters, kh, kw], [kh, kw, c.filters, cin]);
        self.weights =
            KernelBias::build(&shape, &keras_shape, c.filters, c.use_bias, init, device)?;
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
        let kernel = self
            .weights
            .kernel
            .as_ref()
            .ok_or_else(|| self.config_error("called before being built"))?;
        let c = &self.config;
        let (pad, out_pad) = self.torch_args();
        let y = x.f_conv_transpose2d(
            &kernel.tensor,
            self.weights.bias_tensor(),
            c.strides.arr(),
            pad,
            out_pad,
            1,
            c.dilation_rate.arr(),
        )?;
        c.activation.apply(&y)
    }

    fn regularization_loss(&self) -> Result<Option<Tensor>> {
        let c = &self.config;
        self.weights
            .regularization_loss(c.kernel_regularizer, c.bias_regularizer)
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::Conv2DTranspose(self.config.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keras_torch_padding_conversion() {
        // Values of keras/src/backend/common/backend_utils.py for (k, s, padding).
        assert_eq!(torch_padding(3, 2, 1, Padding::Same, None), (1, 1));
        assert_eq!(torch_padding(4, 2, 1, Padding::Same, None), (1, 0));
        assert_eq!(torch_padding(3, 1, 1, Padding::Same, None), (1, 0));
        assert_eq!(torch_padding(3, 2, 1, Padding::Valid, None), (0, 0));
        assert_eq!(torch_padding(2, 3, 1, Padding::Valid, None), (0, 1));
    }
}
