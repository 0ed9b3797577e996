//! What the convolution layers share: TF-style `same` padding around libtorch's convolution.

use convkit_tensor::tch::Tensor;

use crate::layers::padding::{is_symmetric, spatial_padding, Padding};
use crate::Result;

/// Effective kernel size with dilation: `(k - 1) * d + 1`.
pub(crate) fn effective_kernel(kernel: [i64; 2], dilation: [i64; 2]) -> [i64; 2] {
    [
        (kernel[0] - 1) * dilation[0] + 1,
        (kernel[1] - 1) * dilation[1] + 1,
    ]
}

/// Convolution of an NCHW batch with a `(out, in / groups, kh, kw)` weight, Keras' padding
/// rule: `same` pads `max((ceil(n/s)-1)*s + k_eff - n, 0)` with the extra pixel at the
/// bottom/right (explicit zero padding when the split is asymmetric).
pub(crate) fn conv2d_keras(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    strides: [i64; 2],
    padding: Padding,
    dilation: [i64; 2],
    groups: i64,
) -> Result<Tensor> {
    let size = x.size();
    let k = weight.size();
    let k_eff = effective_kernel([k[2], k[3]], dilation);
    let pads = spatial_padding([size[2], size[3]], k_eff, strides, padding);
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

/// Checks that kernel sizes, strides and dilation rates are positive and that strides and
/// dilation are not both above 1 (as in Keras). Returns the problem, if any.
pub(crate) fn check_conv_options(
    kernel: [i64; 2],
    strides: [i64; 2],
    dilation: [i64; 2],
) -> Option<String> {
    let all = [
        kernel[0],
        kernel[1],
        strides[0],
        strides[1],
        dilation[0],
        dilation[1],
    ];
    if all.iter().any(|&v| v < 1) {
        return Some(format!(
            "kernel_size, strides and dilation_rate must be >= 1 (kernel_size {kernel:?}, strides {strides:?}, dilation_rate {dilation:?})"
        ));
    }
    if (strides[0] > 1 || strides[1] > 1) && (dilation[0] > 1 || dilation[1] > 1) {
        return Some("strides > 1 cannot be combined with dilation_rate > 1 (as in Keras)".into());
    }
    None
}

/// [`conv2d_keras`] with the per-output-channel map `y * scale + shift` folded into the
/// kernel `(out, in / groups, kh, kw)` and bias (batch normalization folding).
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv2d_keras_folded(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    scale: &Tensor,
    shift: &Tensor,
    strides: [i64; 2],
    padding: Padding,
    dilation: [i64; 2],
    groups: i64,
) -> Result<Tensor> {
    let kernel = weight.f_mul(&scale.f_reshape([-1, 1, 1, 1])?)?;
    let bias = match bias {
        Some(b) => b.f_mul(scale)?.f_add(shift)?,
        None => shift.shallow_clone(),
    };
    conv2d_keras(x, &kernel, Some(&bias), strides, padding, dilation, groups)
}
