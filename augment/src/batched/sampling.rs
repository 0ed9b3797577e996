//! [`affine_sample`]: resamples every image of a batch through its own inverse affine map,
//! with Keras' fill modes, using `grid_sample`.

use convkit_tensor::tch::{Kind, Tensor};

use super::check_nchw;
use crate::{FillMode, Interpolation, Result};

/// Maps pixel coordinates outside `[0, n - 1]` back inside, as the fill mode says
/// (reflect: half-sample symmetric; wrap: period `n`). Nearest and constant are left to
/// `grid_sample`'s padding.
fn fold(coord: &Tensor, n: i64, fill: FillMode) -> Result<Tensor> {
    let n = n as f64;
    Ok(match fill {
        FillMode::Reflect => {
            // reflect about -0.5 and n - 0.5 with period 2n
            let t = coord.f_add_scalar(0.5)?.f_remainder(2.0 * n)?;
            let t = t.f_where_self(&t.f_lt(n)?, &t.f_mul_scalar(-1.0)?.f_add_scalar(2.0 * n)?)?;
            t.f_sub_scalar(0.5)?
        }
        FillMode::Wrap => coord.f_add_scalar(0.5)?.f_remainder(n)?.f_sub_scalar(0.5)?,
        FillMode::Nearest | FillMode::Constant(_) => coord.shallow_clone(),
    })
}

/// Resamples `x` `(N, C, H, W)`: output pixel `(col, row)` of image `i` reads the input at
/// `m[i] · (col, row, 1)`, where `m` is `(N, 2, 3)` in pixel units (x = column first).
pub fn affine_sample(
    x: &Tensor,
    m: &Tensor,
    interpolation: Interpolation,
    fill: FillMode,
) -> Result<Tensor> {
    let (n, _, h, w) = check_nchw("affine_sample", x)?;
    let opts = (Kind::Float, x.device());
    let cols = Tensor::f_arange(w, opts)?
        .f_view([1, w])?
        .f_expand([h, w], false)?;
    let rows = Tensor::f_arange(h, opts)?
        .f_view([h, 1])?
        .f_expand([h, w], false)?;
    let ones = Tensor::f_ones([h, w], opts)?;
    // (3, H*W) homogeneous pixel coordinates
    let base = Tensor::f_stack(&[cols, rows, ones], 0)?.f_view([3, h * w])?;
    let m = m.f_to_kind(Kind::Float)?.f_to_device(x.device())?;
    let src = m.f_matmul(&base)?; // (N, 2, H*W)
    let sx = fold(&src.f_select(1, 0)?, w, fill)?;
    let sy = fold(&src.f_select(1, 1)?, h, fill)?;
    // normalise for align_corners = false
    let gx = sx
        .f_mul_scalar(2.0 / w as f64)?
        .f_add_scalar(1.0 / w as f64 - 1.0)?;
    let gy = sy
        .f_mul_scalar(2.0 / h as f64)?
        .f_add_scalar(1.0 / h as f64 - 1.0)?;
    let grid = Tensor::f_stack(&[gx, gy], 2)?
        .f_view([n, h, w, 2])?
        .f_to_kind(x.kind())?;
    let mode = match interpolation {
        Interpolation::Bilinear => 0,
        Interpolation::Nearest => 1,
    };
    Ok(match fill {
        FillMode::Constant(k) => {
            let k = f64::from(k);
            x.f_sub_scalar(k)?
                .f_grid_sampler(&grid, mode, 0, false)?
                .f_add_scalar(k)?
        }
        _ => x.f_grid_sampler(&grid, mode, 1, false)?,
    })
}
