//! One resample for any affine map: [`warp_affine`].

use serde::{Deserialize, Serialize};

use crate::{Affine, FillMode, HwcImage};

/// How an output pixel is computed from the input around the sampled point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interpolation {
    /// The closest input pixel (scipy `order=0`).
    Nearest,
    /// Bilinear interpolation of the 4 closest pixels (scipy `order=1`, Keras' default).
    #[default]
    Bilinear,
}

/// Resamples `src` through the inverse map `inverse` (output `(r, c)` reads the input at
/// `inverse · (r, c)`) into an `out_h x out_w` image, filling outside points by `fill`.
///
/// Matches `scipy.ndimage.affine_transform(channel, M, offset, order, mode, cval)` per channel,
/// up to the final rounding to u8.
pub fn warp_affine(
    src: &HwcImage,
    inverse: &Affine,
    out_h: usize,
    out_w: usize,
    interpolation: Interpolation,
    fill: FillMode,
) -> HwcImage {
    let mut out = HwcImage::filled(out_h, out_w, src.channels(), 0);
    if src.height() == 0 || src.width() == 0 || out_h == 0 || out_w == 0 {
        return out;
    }
    match src.channels() {
        1 => warp_into::<1>(src, inverse, interpolation, fill, &mut out),
        3 => warp_into::<3>(src, inverse, interpolation, fill, &mut out),
        4 => warp_into::<4>(src, inverse, interpolation, fill, &mut out),
        _ => warp_into_any(src, inverse, interpolation, fill, &mut out),
    }
    out
}

#[inline]
fn to_u8(v: f32) -> u8 {
    (v + 0.5).clamp(0.0, 255.0) as u8
}

fn constant_value(fill: FillMode) -> u8 {
    match fill {
        FillMode::Constant(k) => to_u8(k),
        _ => 0,
    }
}

fn warp_into<const C: usize>(
    src: &HwcImage,
    m: &Affine,
    interpolation: Interpolation,
    fill: FillMode,
    out: &mut HwcImage,
) {
    match interpolation {
        Interpolation::Nearest => warp_rows::<C, false>(src, m, fill, out),
        Interpolation::Bilinear => warp_rows::<C, true>(src, m, fill, out),
    }
}

/// The warp loop, specialised on channel count and interpolation. Points whose 2x2
/// neighbourhood lies inside the image skip the boundary rules.
fn warp_rows<const C: usize, const BILINEAR: bool>(
    src: &HwcImage,
    m: &Affine,
    fill: FillMode,
    out: &mut HwcImage,
) {
    let (h, w) = (src.height(), src.width());
    let (out_w, data) = (out.width(), src.data());
    let k = constant_value(fill);
    let a = m.0;
    let (dy, dx) = (a[0][1] as f32, a[1][1] as f32);
    let (hmax, wmax) = ((h - 1) as f32, (w - 1) as f32);
    const ONE: i32 = 1 << FRAC_BITS;
    let pixels: &[[u8; C]] = data.as_chunks::<C>().0;
    let mut ys = vec![0f32; out_w];
    let mut xs = vec![0f32; out_w];
    for (r, row) in out.data_mut().chunks_exact_mut(out_w * C).enumerate() {
        let row: &mut [[u8; C]] = row.as_chunks_mut::<C>().0;
        let y0 = (a[0][0] * r as f64 + a[0][2]) as f32;
        let x0 = (a[1][0] * r as f64 + a[1][2]) as f32;
        // the row's sample points first (a vectorised loop), then one gather per pixel
        for (c, (y, x)) in ys.iter_mut().zip(xs.iter_mut()).enumerate() {
            *y = y0 + dy * c as f32;
            *x = x0 + dx * c as f32;
        }
        for ((px, &y), &x) in row.iter_mut().zip(&ys).zip(&xs) {
            let inside = y >= 0.0 && y <= hmax && x >= 0.0 && x <= wmax;
            let (yy, xx) = if inside {
                (y, x)
            } else {
                match (fill.map_coordinate(y, h), fill.map_coordinate(x, w)) {
                    // the clamp only moves reflect's points within half a pixel outside,
                    // whose neighbours mirror anyway
                    (Some(yy), Some(xx)) => (yy.clamp(0.0, hmax), xx.clamp(0.0, wmax)),
                    _ => {
                        *px = [k; C];
                        continue;
                    }
                }
            };
            if !BILINEAR {
                let (yi, xi) = ((yy + 0.5) as usize, (xx + 0.5) as usize);
                *px = pixels[yi.min(h - 1) * w + xi.min(w - 1)];
                continue;
            }
            // fixed point: FRAC_BITS fractional bits of the coordinates
            let yq = (yy * ONE as f32 + 0.5) as i32;
            let xq = (xx * ONE as f32 + 0.5) as i32;
            let (yi, xi) = ((yq >> FRAC_BITS) as usize, (xq >> FRAC_BITS) as usize);
            let (fy, fx) = (yq & (ONE - 1), xq & (ONE - 1));
            let i00 = yi * w + xi;
            let step_x = usize::from(xi + 1 < w);
            let step_y = if yi + 1 < h { w } else { 0 };
            *px = blend(
                [
                    pixels[i00],
                    pixels[i00 + step_x],
                    pixels[i00 + step_y],
                    pixels[i00 + step_y + step_x],
                ],
                fx,
                fy,
            );
        }
    }
}

/// Fractional bits of the fixed-point bilinear weights (1/2048 of a pixel).
const FRAC_BITS: i32 = 11;

/// Bilinear blend in fixed point of the 2x2 neighbourhood `[p00, p01, p10, p11]` (row-major)
/// at fractions `fx`, `fy` (in 1/2048 of a pixel), rounded to the nearest u8; per channel,
/// `top = p00 (2048 - fx) + p01 fx`, `bottom` alike, `(top (2048 - fy) + bottom fy) / 2^22`.
///
/// Two channels share one u64 (32-bit lanes: a lane's sums stay below 2^31, so none carries
/// into the next), the last odd one goes alone: the same integers as one channel at a time,
/// in half the multiplications.
#[inline(always)]
fn blend<const C: usize>(q: [[u8; C]; 4], fx: i32, fy: i32) -> [u8; C] {
    const ONE: u64 = 1 << FRAC_BITS;
    const HALF: u64 = 1 << (2 * FRAC_BITS - 1);
    let (fx, fy) = (fx as u64, fy as u64);
    let (wx0, wy0) = (ONE - fx, ONE - fy);
    let lerp2 = |a: u64, b: u64, c: u64, d: u64| {
        let top = a * wx0 + b * fx;
        let bottom = c * wx0 + d * fx;
        top * wy0 + bottom * fy + (HALF | HALF << 32)
    };
    let mut out = [0u8; C];
    let mut ch = 0;
    while ch + 1 < C {
        let pair = |p: &[u8; C]| u64::from(p[ch]) | u64::from(p[ch + 1]) << 32;
        let v = lerp2(pair(&q[0]), pair(&q[1]), pair(&q[2]), pair(&q[3]));
        out[ch] = (v >> (2 * FRAC_BITS)) as u8;
        out[ch + 1] = (v >> (32 + 2 * FRAC_BITS)) as u8;
        ch += 2;
    }
    if ch < C {
        let one = |p: &[u8; C]| u64::from(p[ch]);
        let v = lerp2(one(&q[0]), one(&q[1]), one(&q[2]), one(&q[3]));
        out[ch] = (v >> (2 * FRAC_BITS)) as u8;
    }
    out
}

fn warp_into_any(
    src: &HwcImage,
    m: &Affine,
    interpolation: Interpolation,
    fill: FillMode,
    out: &mut HwcImage,
) {
    let (h, w, ch) = (src.height(), src.width(), src.channels());
    let out_w = out.width();
    let k = constant_value(fill);
    for (r, row) in out.data_mut().chunks_exact_mut(out_w * ch).enumerate() {
        for (c, px) in row.chunks_exact_mut(ch).enumerate() {
            let (y, x) = m.apply(r as f64, c as f64);
            let (Some(yy), Some(xx)) = (
                fill.map_coordinate(y as f32, h),
                fill.map_coordinate(x as f32, w),
            ) else {
                px.fill(k);
                continue;
            };
            match interpolation {
                Interpolation::Nearest => {
                    let p = src.pixel(
                        ((yy + 0.5) as usize).min(h - 1),
                        ((xx + 0.5) as usize).min(w - 1),
                    );
                    px.copy_from_slice(p);
                }
                Interpolation::Bilinear => {
                    let (y0, x0) = (yy as usize, xx as usize);
                    let (fy, fx) = (yy - y0 as f32, xx - x0 as f32);
                    let (y1, x1) = ((y0 + 1).min(h - 1), (x0 + 1).min(w - 1));
                    let (p00, p01, p10, p11) = (
                        src.pixel(y0, x0),
                        src.pixel(y0, x1),
                        src.pixel(y1, x0),
                        src.pixel(y1, x1),
                    );
                    for i in 0..ch {
                        let v = (1.0 - fy)
                            * ((1.0 - fx) * f32::from(p00[i]) + fx * f32::from(p01[i]))
                            + fy * ((1.0 - fx) * f32::from(p10[i]) + fx * f32::from(p11[i]));
                        px[i] = to_u8(v);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp() -> HwcImage {
        let data = (0..4 * 5 * 3).map(|v| (v * 4) as u8).collect();
        HwcImage::new(4, 5, 3, data).unwrap()
    }

    #[test]
    fn identity_is_a_copy() {
        let img = ramp();
        for interp in [Interpolation::Nearest, Interpolation::Bilinear] {
            let out = warp_affine(&img, &Affine::IDENTITY, 4, 5, interp, FillMode::Nearest);
            assert_eq!(out, img);
        }
    }

    #[test]
    fn half_pixel_shift_averages_neighbours() {
        let img = HwcImage::new(1, 2, 1, vec![10, 20]).unwrap();
        let out = warp_affine(
            &img,
            &Affine::translation(0.0, 0.5),
            1,
            2,
            Interpolation::Bilinear,
            FillMode::Nearest,
        );
        assert_eq!(out.data(), &[15, 20]);
    }

    #[test]
    fn constant_fills_outside() {
        let img = ramp();
        let out = warp_affine(
            &img,
            &Affine::translation(0.0, 10.0),
            4,
            5,
            Interpolation::Bilinear,
            FillMode::Constant(9.0),
        );
        assert!(out.data().iter().all(|&v| v == 9));
    }
    /// The fixed-point bilinear rule one channel at a time (the loop before [`blend`]
    /// paired them), nearest fill, for points whose neighbourhood lies inside the image.
    fn per_channel_reference(src: &HwcImage, m: &Affine, out_h: usize, out_w: usize) -> HwcImage {
        let (h, w, c) = (src.height(), src.width(), src.channels());
        let one = 1 << FRAC_BITS;
        let mut out = HwcImage::filled(out_h, out_w, c, 0);
        let (dy, dx) = (m.0[0][1] as f32, m.0[1][1] as f32);
        for r in 0..out_h {
            let y0 = (m.0[0][0] * r as f64 + m.0[0][2]) as f32;
            let x0 = (m.0[1][0] * r as f64 + m.0[1][2]) as f32;
            for col in 0..out_w {
                let y = (y0 + dy * col as f32).clamp(0.0, (h - 1) as f32);
                let x = (x0 + dx * col as f32).clamp(0.0, (w - 1) as f32);
                let yq = (y * one as f32 + 0.5) as i32;
                let xq = (x * one as f32 + 0.5) as i32;
                let (yi, xi) = ((yq >> FRAC_BITS) as usize, (xq >> FRAC_BITS) as usize);
                let (fy, fx) = (yq & (one - 1), xq & (one - 1));
                let (y1, x1) = ((yi + 1).min(h - 1), (xi + 1).min(w - 1));
                for ch in 0..c {
                    let p = |yy: usize, xx: usize| i32::from(src.pixel(yy, xx)[ch]);
                    let top = (p(yi, xi) << FRAC_BITS) + fx * (p(yi, x1) - p(yi, xi));
                    let bottom = (p(y1, xi) << FRAC_BITS) + fx * (p(y1, x1) - p(y1, xi));
                    let v = (top << FRAC_BITS) + fy * (bottom - top);
                    out.data_mut()[(r * out_w + col) * c + ch] =
                        ((v + (1 << (2 * FRAC_BITS - 1))) >> (2 * FRAC_BITS)) as u8;
                }
            }
        }
        out
    }

    #[test]
    fn two_channels_per_word_blend_as_one_channel_at_a_time() {
        let mut state = 12345u32;
        let mut next = move || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 24) as u8
        };
        // rotation, shear, zoom, shift about the centre: many points on the edges (nearest
        // fill clamps them there) and the last pixel of the buffer among the neighbours
        let maps = [
            Affine::IDENTITY,
            Affine([[0.93, 0.35, -9.0], [-0.31, 1.07, 6.5], [0.0, 0.0, 1.0]]),
            Affine([[1.2, -0.1, 3.25], [0.05, 0.8, -2.75], [0.0, 0.0, 1.0]]),
        ];
        for (h, w, c) in [(17, 23, 3), (9, 12, 4), (8, 8, 1)] {
            let img = HwcImage::new(h, w, c, (0..h * w * c).map(|_| next()).collect()).unwrap();
            for m in &maps {
                let got = warp_affine(&img, m, h, w, Interpolation::Bilinear, FillMode::Nearest);
                assert_eq!(
                    got,
                    per_channel_reference(&img, m, h, w),
                    "{h}x{w}x{c} {m:?}"
                );
            }
        }
    }
}
