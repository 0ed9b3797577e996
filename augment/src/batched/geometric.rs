//! Random rotation, zoom and translation of a batch (Keras' `RandomRotation`, `RandomZoom`,
//! `RandomTranslation`), each one affine resample per image.

use convkit_tensor::tch::{Kind, Tensor};

use super::{affine_sample, check_nchw, uniform_like};
use crate::{FillMode, Interpolation, Result};

/// Stacks per-image inverse maps `(a, b, c, d, e, f)` -> `(N, 2, 3)` `[[a, b, c], [d, e, f]]`.
fn matrices(parts: [Tensor; 6]) -> Result<Tensor> {
    let n = parts[0].size()[0];
    Ok(Tensor::f_stack(&parts, 1)?.f_view([n, 2, 3])?)
}

/// Rotates each image about its centre by an angle drawn from `factor * 2π`
/// (`factor = (lower, upper)`, fractions of a full turn as in Keras).
pub fn random_rotation(
    x: &Tensor,
    factor: (f64, f64),
    interpolation: Interpolation,
    fill: FillMode,
) -> Result<Tensor> {
    let (n, _, h, w) = check_nchw("RandomRotation", x)?;
    let tau = std::f64::consts::TAU;
    let angle = uniform_like(x, n, (factor.0 * tau, factor.1 * tau))?;
    let (cos, sin) = (angle.f_cos()?, angle.f_sin()?);
    let (cx, cy) = ((w - 1) as f64 / 2.0, (h - 1) as f64 / 2.0);
    // inverse rotation about (cx, cy): src = R(-a) (p - c) + c
    let a = cos.shallow_clone();
    let b = sin.shallow_clone();
    let d = sin.f_neg()?;
    let e = cos.shallow_clone();
    let c = a
        .f_mul_scalar(-cx)?
        .f_sub(&b.f_mul_scalar(cy)?)?
        .f_add_scalar(cx)?;
    let f = d
        .f_mul_scalar(-cx)?
        .f_sub(&e.f_mul_scalar(cy)?)?
        .f_add_scalar(cy)?;
    affine_sample(x, &matrices([a, b, c, d, e, f])?, interpolation, fill)
}

/// Zooms each image about its centre: the input span grows by `1 + u`, `u` drawn from
/// `height_factor` (positive zooms out, as in Keras) and from `width_factor` (or the same
/// factor as the height when `None`).
pub fn random_zoom(
    x: &Tensor,
    height_factor: (f64, f64),
    width_factor: Option<(f64, f64)>,
    interpolation: Interpolation,
    fill: FillMode,
) -> Result<Tensor> {
    let (n, _, h, w) = check_nchw("RandomZoom", x)?;
    let zy = uniform_like(x, n, height_factor)?.f_add_scalar(1.0)?;
    let zx = match width_factor {
        Some(wf) => uniform_like(x, n, wf)?.f_add_scalar(1.0)?,
        None => zy.shallow_clone(),
    };
    let (cx, cy) = ((w - 1) as f64 / 2.0, (h - 1) as f64 / 2.0);
    let zero = Tensor::f_zeros([n], (Kind::Float, x.device()))?;
    let c = zx.f_mul_scalar(-cx)?.f_add_scalar(cx)?;
    let f = zy.f_mul_scalar(-cy)?.f_add_scalar(cy)?;
    let m = matrices([zx, zero.shallow_clone(), c, zero.shallow_clone(), zy, f])?;
    affine_sample(x, &m, interpolation, fill)
}

/// Shifts each image by `u * H` rows and `v * W` columns, `u` drawn from `height_factor` and
/// `v` from `width_factor` (positive moves the content down / right).
pub fn random_translation(
    x: &Tensor,
    height_factor: (f64, f64),
    width_factor: (f64, f64),
    interpolation: Interpolation,
    fill: FillMode,
) -> Result<Tensor> {
    let (n, _, h, w) = check_nchw("RandomTranslation", x)?;
    let dy = uniform_like(x, n, height_factor)?.f_mul_scalar(h as f64)?;
    let dx = uniform_like(x, n, width_factor)?.f_mul_scalar(w as f64)?;
    let opts = (Kind::Float, x.device());
    let (one, zero) = (Tensor::f_ones([n], opts)?, Tensor::f_zeros([n], opts)?);
    let m = matrices([
        one.shallow_clone(),
        zero.shallow_clone(),
        dx.f_neg()?,
        zero,
        one,
        dy.f_neg()?,
    ])?;
    affine_sample(x, &m, interpolation, fill)
}

#[cfg(test)]
mod tests {
    use super::*;
    use convkit_tensor::tch::Device;

    fn batch() -> Tensor {
        Tensor::arange(2 * 3 * 5 * 6, (Kind::Float, Device::Cpu)).view([2, 3, 5, 6])
    }

    #[test]
    fn zero_ranges_are_the_identity() {
        let x = batch();
        for fill in [
            FillMode::Reflect,
            FillMode::Wrap,
            FillMode::Nearest,
            FillMode::Constant(3.0),
        ] {
            let r = random_rotation(&x, (0.0, 0.0), Interpolation::Bilinear, fill).unwrap();
            assert!(r.allclose(&x, 1e-4, 1e-3, false), "{fill:?}");
            let z = random_zoom(&x, (0.0, 0.0), None, Interpolation::Bilinear, fill).unwrap();
            assert!(z.allclose(&x, 1e-4, 1e-3, false));
        }
    }

    #[test]
    fn whole_pixel_translation_moves_content() {
        let x = batch();
        let y = random_translation(
            &x,
            (0.2, 0.2),
            (0.0, 0.0),
            Interpolation::Nearest,
            FillMode::Constant(-1.0),
        )
        .unwrap();
        // one row down (0.2 * 5 = 1): row r of the output is row r - 1 of the input
        assert!(y
            .narrow(2, 1, 4)
            .allclose(&x.narrow(2, 0, 4), 1e-5, 1e-5, false));
        assert!(y.narrow(2, 0, 1).eq(-1.0).all().int64_value(&[]) == 1);
    }

    #[test]
    fn reflect_and_wrap_fold_coordinates() {
        let x = Tensor::from_slice(&[0f32, 1., 2., 3.]).view([1, 1, 1, 4]);
        let shift = |fill| {
            let y = random_translation(&x, (0.0, 0.0), (0.5, 0.5), Interpolation::Nearest, fill)
                .unwrap();
            Vec::<f32>::try_from(y.flatten(0, -1)).unwrap()
        };
        assert_eq!(shift(FillMode::Reflect), vec![1., 0., 0., 1.]);
        assert_eq!(shift(FillMode::Wrap), vec![2., 3., 0., 1.]);
        assert_eq!(shift(FillMode::Nearest), vec![0., 0., 0., 1.]);
    }
}
