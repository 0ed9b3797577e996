//! Batched random transforms of NCHW float tensors, on whatever device the batch lives
//! (the kernels behind Keras' augmentation layers). Randomness comes from libtorch's
//! generator, which convkit seeds per epoch.

pub mod contrast;
pub mod flip;
pub mod geometric;
pub mod sampling;

pub use contrast::random_contrast;
pub use flip::{random_flip, FlipMode};
pub use geometric::{random_rotation, random_translation, random_zoom};
pub use sampling::affine_sample;

use convkit_tensor::tch::{Kind, Tensor};

use crate::{Error, Result};

/// Checks that `x` is a float `(N, C, H, W)` batch.
pub(crate) fn check_nchw(transform: &'static str, x: &Tensor) -> Result<(i64, i64, i64, i64)> {
    let s = x.size();
    if s.len() != 4
        || !matches!(
            x.kind(),
            Kind::Float | Kind::Double | Kind::Half | Kind::BFloat16
        )
    {
        return Err(Error::Shape {
            transform,
            expected: "a float batch of shape (N, C, H, W)".into(),
            actual: format!("{:?} tensor of shape {s:?}", x.kind()),
        });
    }
    Ok((s[0], s[1], s[2], s[3]))
}

/// `n` values uniform in `[lo, hi]` on `x`'s device.
pub(crate) fn uniform_like(x: &Tensor, n: i64, (lo, hi): (f64, f64)) -> Result<Tensor> {
    let u = Tensor::f_rand([n], (Kind::Float, x.device()))?;
    Ok(u.f_mul_scalar(hi - lo)?.f_add_scalar(lo)?)
}
