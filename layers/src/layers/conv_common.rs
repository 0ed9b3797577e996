//! What the convolution layers share: TF-style `same` padding around libtorch's convolution,
//! and batch-normalization folding into the kernel.

use convkit_tensor::tch::Tensor;

use crate::layers::conv_options::ConvWindow;
use crate::layers::padding::{is_symmetric, spatial_padding};
use crate::mixed_precision::variable_as;
use crate::Result;

/// Convolution of an NCHW batch with a `(out, in / groups, kh, kw)` weight over `window`,
/// Keras' padding rule: `same` pads `max((ceil(n/s)-1)*s + k_eff - n, 0)` with the extra
/// pixel at the bottom/right (explicit zero padding when the split is asymmetric).
pub(crate) fn conv2d_keras(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    window: &ConvWindow,
    groups: i64,
) -> Result<Tensor> {
    // Channels-last where it is faster (convkit_tensor::memory_format); a no-op on inputs
    // already so stored, as every layer's output after the first convolution is.
    let x = &convkit_tensor::memory_format::conv_input(x)?;
    // Mixed precision: the float32 variables as the input's dtype.
    let weight = &variable_as(weight, x)?;
    let bias = bias.map(|b| variable_as(b, x)).transpose()?;
    let bias = bias.as_ref();
    let size = x.size();
    let (strides, dilation) = (window.strides.arr(), window.dilation_rate.arr());
    let pads = spatial_padding(
        [size[2], size[3]],
        window.effective_kernel(),
        strides,
        window.padding,
    );
    if is_symmetric(&pads) {
        Ok(x.f_conv2d(
            weight,
            bias,
            strides,
            [pads[0].0, pads[1].0],
            dilation,
            groups,
        )?)
    } else {
        let padded = x.f_constant_pad_nd([pads[1].0, pads[1].1, pads[0].0, pads[0].1])?;
        Ok(padded.f_conv2d(weight, bias, strides, [0, 0], dilation, groups)?)
    }
}

/// [`conv2d_keras`] with the per-output-channel map `y * scale + shift` folded into the
/// kernel `(out, in / groups, kh, kw)` and bias (batch normalization folding).
pub(crate) fn conv2d_keras_folded(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    (scale, shift): (&Tensor, &Tensor),
    window: &ConvWindow,
    groups: i64,
) -> Result<Tensor> {
    let kernel = weight.f_mul(&scale.f_reshape([-1, 1, 1, 1])?)?;
    let bias = match bias {
        Some(b) => b.f_mul(scale)?.f_add(shift)?,
        None => shift.shallow_clone(),
    };
    conv2d_keras(x, &kernel, Some(&bias), window, groups)
}

/// `forward` and `forward_folded` of a one-kernel convolution layer (`Conv2D`,
/// `DepthwiseConv2D`) with a `KernelBias` in `weights`, its window in `config.window` and
/// its activation in `config.units`; `groups` is computed from the input batch `$x`.
macro_rules! conv_forward {
    ($($conv:ident).* ; |$x:ident| $groups:expr) => {
        fn forward_folded(
            &self,
            $x: &convkit_tensor::tch::Tensor,
            scale: &convkit_tensor::tch::Tensor,
            shift: &convkit_tensor::tch::Tensor,
        ) -> Option<$crate::Result<convkit_tensor::tch::Tensor>> {
            let c = &self.config$(.$conv)*;
            if c.units.activation != $crate::layers::activations::Activation::Linear {
                return None;
            }
            let kernel = self.weights.kernel(0)?;
            let run = || {
                self.check_input($x)?;
                let bias = self.weights.bias();
                let folded = (scale, shift);
                $crate::layers::conv_common::conv2d_keras_folded(
                    $x, kernel, bias, folded, &c.window, $groups,
                )
            };
            Some(run())
        }

        fn forward(
            &self,
            $x: &convkit_tensor::tch::Tensor,
            _training: bool,
        ) -> $crate::Result<convkit_tensor::tch::Tensor> {
            self.check_input($x)?;
            let kernel = self
                .weights
                .kernel(0)
                .ok_or_else(|| self.config_error("called before being built"))?;
            let c = &self.config$(.$conv)*;
            let bias = self.weights.bias();
            let y =
                $crate::layers::conv_common::conv2d_keras($x, kernel, bias, &c.window, $groups)?;
            c.units.activation.apply(&y)
        }
    };
}
pub(crate) use conv_forward;
