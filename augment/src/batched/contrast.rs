//! Random contrast of a batch (Keras' `RandomContrast`).

use convkit_tensor::tch::Tensor;

use super::{check_nchw, uniform_like};
use crate::Result;

/// Per image, draws `f` from `[1 - lower, 1 + upper]` and maps each channel to
/// `(x - mean) * f + mean` (mean over the image), clipped to `value_range`.
pub fn random_contrast(
    x: &Tensor,
    (lower, upper): (f64, f64),
    value_range: (f64, f64),
) -> Result<Tensor> {
    let (n, _, _, _) = check_nchw("RandomContrast", x)?;
    let f = uniform_like(x, n, (1.0 - lower, 1.0 + upper))?
        .f_to_kind(x.kind())?
        .f_view([n, 1, 1, 1])?;
    let mean = x.f_mean_dim(&[2i64, 3][..], true, None)?;
    let y = x.f_sub(&mean)?.f_mul(&f)?.f_add(&mean)?;
    Ok(y.f_clamp(value_range.0, value_range.1)?)
}
