//! `Conv2DTranspose`: the transposed ("deconvolution") layer that upsamples in segmentation
//! decoders.

use convkit_tensor::tch::Tensor;
use serde::{Deserialize, Serialize};

use crate::layers::conv_options::{
    check_counts, conv_window_setters, kernel_setters, unit_setters,
};
use crate::layers::layer::{Layer, LayerCommon, Pair, SerializableLayer};
use crate::layers::padding::Padding;
use crate::Result;

use super::conv2d::{Conv2D, Conv2DConfig};
use super::kernel_bias::{kernel_bias_layer, KernelBias, KernelSpec};

/// Configuration of [`Conv2DTranspose`] (Keras' constructor arguments): those of
/// [`Conv2D`] (the strides are the upsampling factor) and `output_padding`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Conv2DTransposeConfig {
    /// Name, filters, window, activation and bias, kernel options.
    #[serde(flatten)]
    pub conv: Conv2DConfig,
    /// Extra rows/columns added at the bottom/right; `None` lets the padding decide.
    #[serde(default)]
    pub output_padding: Option<Pair>,
}

/// Transposed 2-D convolution.
///
/// The kernel is stored in libtorch's `(in_channels, filters, kh, kw)` layout (Keras:
/// `(kh, kw, filters, in_channels)`). Output sizes are Keras': `valid` gives
/// `(n - 1) * s + max(k, s)`, `same` gives `n * s`; with `output_padding` `p`,
/// `(n - 1) * s + k - 2 * pad + p` (`pad = k // 2` for `same`, 0 for `valid`), `k` being the
/// dilated kernel. The full transposed convolution is cropped (or zero-padded) on each side
/// exactly as Keras 3 does (JAX's padding rule), then the bias is added.
///
/// # Shapes
/// `(N, C, H, W)` -> `(N, filters, H', W')`.
#[derive(Debug)]
pub struct Conv2DTranspose {
    config: Conv2DTransposeConfig,
    weights: KernelBias,
}

/// `(crop_left, crop_right)` of the full transposed convolution along one axis, as Keras 3's
/// torch backend computes them (`compute_conv_transpose_output_crops_for_torch`: JAX's
/// padding, `crop = k_eff - 1 - pad`); a negative crop means zero padding.
fn crops(k: i64, s: i64, d: i64, padding: Padding, output_padding: Option<i64>) -> (i64, i64) {
    let k = (k - 1) * d + 1;
    let (left, right) = match padding {
        Padding::Valid => {
            let op = output_padding.unwrap_or(k.max(s) - k);
            (k - 1, k - 1 + op)
        }
        Padding::Same => {
            let pad_len = match output_padding {
                None => s + k - 2,
                Some(op) => k + k % 2 - 2 + op,
            };
            let left = (pad_len / 2 + pad_len % 2).min(k - 1);
            (left, pad_len - left)
        }
    };
    (k - 1 - left, k - 1 - right)
}

impl Conv2DTranspose {
    /// `filters` output channels, square or `(h, w)` kernel; stride 1, `valid`, no activation.
    pub fn new(filters: i64, kernel_size: impl Into<Pair>) -> Self {
        Self::from_config(Conv2DTransposeConfig {
            conv: Conv2D::new(filters, kernel_size).conv_config().clone(),
            output_padding: None,
        })
    }

    conv_window_setters!(conv.window);
    unit_setters!(conv.units);
    kernel_setters!(conv.kernel: kernel_initializer, kernel_regularizer);

    /// Sets the output padding.
    pub fn output_padding(mut self, p: impl Into<Pair>) -> Self {
        self.config.output_padding = Some(p.into());
        self
    }

    fn kernel_specs(&self, input_shape: &[i64]) -> (Vec<KernelSpec>, i64) {
        let c = &self.config.conv;
        let (cin, f) = (input_shape[0], c.filters);
        let Pair(kh, kw) = c.window.kernel_size;
        let kernel = KernelSpec::new("kernel", &c.kernel, [cin, f, kh, kw], [kh, kw, f, cin]);
        (vec![kernel], f)
    }

    /// `[(crop_left, crop_right); 2]` of the full transposed convolution.
    fn crop_args(&self) -> [(i64, i64); 2] {
        let (w, op) = (&self.config.conv.window, self.config.output_padding);
        let axis = |i: usize| {
            crops(
                w.kernel_size.arr()[i],
                w.strides.arr()[i],
                w.dilation_rate.arr()[i],
                w.padding,
                op.map(|p| p.arr()[i]),
            )
        };
        [axis(0), axis(1)]
    }

    fn validate(&self) -> Result<()> {
        let c = &self.config.conv;
        check_counts(self, &[("filters", c.filters)])?;
        if let Some(p) = c.window.problem() {
            return Err(self.config_error(&p));
        }
        if let Some(op) = self.config.output_padding {
            let (s, d) = (c.window.strides, c.window.dilation_rate);
            if op.0 < 0 || op.1 < 0 || op.0 >= s.0.max(d.0) || op.1 >= s.1.max(d.1) {
                return Err(self.config_error(&format!(
                    "output_padding {op} must lie in [0, max(stride, dilation)) (strides {s})"
                )));
            }
        }
        Ok(())
    }
}

impl SerializableLayer for Conv2DTranspose {
    const CLASS_NAME: &'static str = "Conv2DTranspose";
    type Config = Conv2DTransposeConfig;

    fn from_config(config: Conv2DTransposeConfig) -> Self {
        Conv2DTranspose {
            config,
            weights: KernelBias::default(),
        }
    }
}

impl Layer for Conv2DTranspose {
    fn common(&self) -> &LayerCommon {
        &self.config.conv.common
    }
    fn common_mut(&mut self) -> &mut LayerCommon {
        &mut self.config.conv.common
    }

    fn class_name(&self) -> &'static str {
        Self::CLASS_NAME
    }
    fn base_name(&self) -> &'static str {
        "conv2d_transpose"
    }

    fn compute_output_shape(&self, input_shape: &[i64]) -> Result<Vec<i64>> {
        self.validate()?;
        let [_, h, w] = super::expect_chw(self, input_shape)?;
        let c = &self.config.conv;
        let crop = self.crop_args();
        let (hw, k, s) = ([h, w], c.window.effective_kernel(), c.window.strides.arr());
        let mut out = [0; 2];
        for (i, o) in out.iter_mut().enumerate() {
            *o = (hw[i] - 1) * s[i] + k[i] - crop[i].0 - crop[i].1;
        }
        if out[0] < 1 || out[1] < 1 {
            return Err(self.shape_error("a non-empty image", input_shape));
        }
        Ok(vec![c.filters, out[0], out[1]])
    }

    kernel_bias_layer!(conv.units);

    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        self.check_input(x)?;
        let kernel = self
            .weights
            .kernel(0)
            .ok_or_else(|| self.config_error("called before being built"))?;
        let w = &self.config.conv.window;
        let x = convkit_tensor::memory_format::conv_input(x)?;
        let kernel = crate::mixed_precision::variable_as(kernel, &x)?;
        let full = x.f_conv_transpose2d(
            &kernel,
            None::<&Tensor>,
            w.strides.arr(),
            [0, 0],
            [0, 0],
            1,
            w.dilation_rate.arr(),
        )?;
        // Crop (or zero-pad, for negative crops) each side, then add the bias, as Keras does.
        let [(top, bottom), (left, right)] = self.crop_args();
        let size = full.size();
        let mut y = full
            .f_narrow(2, top.max(0), size[2] - top.max(0) - bottom.max(0))?
            .f_narrow(3, left.max(0), size[3] - left.max(0) - right.max(0))?;
        if top < 0 || bottom < 0 || left < 0 || right < 0 {
            y = y.f_constant_pad_nd([
                (-left).max(0),
                (-right).max(0),
                (-top).max(0),
                (-bottom).max(0),
            ])?;
        }
        if let Some(b) = self.weights.bias() {
            y = y.f_add(&crate::mixed_precision::variable_as(b, &y)?.f_view([1, -1, 1, 1])?)?;
        }
        self.config.conv.units.activation.apply(&y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keras_crops() {
        // (k, s, padding) -> crops of keras/src/backend/common/backend_utils.py.
        assert_eq!(crops(3, 2, 1, Padding::Same, None), (0, 1));
        assert_eq!(crops(4, 2, 1, Padding::Same, None), (1, 1));
        assert_eq!(crops(3, 1, 1, Padding::Same, None), (1, 1));
        assert_eq!(crops(3, 2, 1, Padding::Valid, None), (0, 0));
        assert_eq!(crops(2, 3, 1, Padding::Valid, None), (0, -1));
    }
}
