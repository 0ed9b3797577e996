//! Image resizing as Keras' torch backend does it (`keras.ops.image.resize`): half-pixel
//! centres, no antialiasing, `nearest` meaning torch's `nearest-exact`.

use convkit_tensor::tch::Tensor;
use serde::{Deserialize, Serialize};

use crate::Result;

/// Interpolation of [`super::Resizing`] and [`super::UpSampling2D`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResizeInterpolation {
    /// Bilinear (Keras' `Resizing` default).
    #[default]
    Bilinear,
    /// Nearest neighbour.
    Nearest,
    /// Bicubic (libtorch's, a = -0.75).
    Bicubic,
}

/// Resizes an NCHW float batch to `(h, w)`.
pub(crate) fn resize_nchw(x: &Tensor, hw: [i64; 2], interp: ResizeInterpolation) -> Result<Tensor> {
    Ok(match interp {
        ResizeInterpolation::Bilinear => x.f_upsample_bilinear2d(hw, false, None, None)?,
        ResizeInterpolation::Nearest => x.f_internal_upsample_nearest_exact2d(hw, None, None)?,
        ResizeInterpolation::Bicubic => x.f_upsample_bicubic2d(hw, false, None, None)?,
    })
}
