//! [`GaussianBlur`]: separable Gaussian blur with sigma drawn from a range (imgaug's
//! `GaussianBlur(sigma=(lo, hi))`), in 16-bit fixed point.

use rand::RngCore;

use crate::augmenter::uniform;
use crate::error::check_range;
use crate::{Augmenter, Error, HwcImage, Result};

/// Blurs with a Gaussian of standard deviation drawn from `sigma` (pixels); sigmas under 0.01
/// leave the image as it is.
#[derive(Debug, Clone)]
pub struct GaussianBlur {
    sigma: (f64, f64),
}

impl GaussianBlur {
    /// Sigma drawn from `[lo, hi]`, e.g. `(0.0, 3.0)`.
    pub fn new(sigma: (f64, f64)) -> Result<Self> {
        check_range("GaussianBlur", "sigma", sigma)?;
        if sigma.0 < 0.0 {
            return Err(Error::InvalidOption {
                transform: "GaussianBlur",
                option: "sigma",
                problem: format!("must be >= 0, got {sigma:?}"),
            });
        }
        Ok(GaussianBlur { sigma })
    }
}

impl Augmenter for GaussianBlur {
    fn augment(&self, image: HwcImage, rng: &mut dyn RngCore) -> HwcImage {
        let sigma = uniform(rng, self.sigma);
        gaussian_blur(image, sigma)
    }
    fn name(&self) -> &'static str {
        "GaussianBlur"
    }
}

/// Integer kernel (weights summing to 256) of radius `round(3 sigma)`, like OpenCV's choice.
fn kernel(sigma: f64) -> Vec<u32> {
    let radius = ((3.0 * sigma).round() as usize).max(1);
    let raw: Vec<f64> = (0..=2 * radius)
        .map(|i| {
            let d = i as f64 - radius as f64;
            (-(d * d) / (2.0 * sigma * sigma)).exp()
        })
        .collect();
    let total: f64 = raw.iter().sum();
    let mut k: Vec<u32> = raw
        .iter()
        .map(|v| (v / total * 256.0).round() as u32)
        .collect();
    // fix the rounding so the weights sum to exactly 256
    let sum: i64 = k.iter().map(|&v| i64::from(v)).sum();
    k[radius] = (i64::from(k[radius]) + 256 - sum).max(0) as u32;
    k
}

/// Reflect-101 border (`d c b | a b c d | c b a`), OpenCV's default.
#[inline]
fn reflect101(i: isize, n: usize) -> usize {
    let n = n as isize;
    if n == 1 {
        return 0;
    }
    let mut i = i;
    while i < 0 || i >= n {
        i = if i < 0 { -i } else { 2 * n - 2 - i };
    }
    i as usize
}

/// Elements processed together (accumulators held in registers).
const BLOCK: usize = 64;

/// Calls `f(start, len)` over `0..n` in blocks of at most [`BLOCK`].
fn for_blocks(n: usize, mut f: impl FnMut(usize, usize)) {
    let mut start = 0;
    while start < n {
        let len = BLOCK.min(n - start);
        f(start, len);
        start += len;
    }
}

/// Blurs `image` with a Gaussian of standard deviation `sigma` pixels.
///
/// Two separable passes in fixed point: the horizontal one accumulates in u16 (the weights
/// sum to 256, so `256 * 255` fits), the vertical one in u32; both loops run over whole rows
/// so the compiler vectorises them.
#[allow(
    clippy::expect_used,
    reason = "the output buffer is allocated as h x w x c bytes, the size `HwcImage::new` checks"
)]
pub fn gaussian_blur(image: HwcImage, sigma: f64) -> HwcImage {
    if sigma < 0.01 || image.width() == 0 || image.height() == 0 {
        return image;
    }
    let k = kernel(sigma);
    let r = k.len() / 2;
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let src = image.data();
    let stride = w * c;
    // horizontal pass into u16 (value * 256); the kernel is symmetric, so mirrored taps are
    // added before the multiply (off-centre weights are <= 128, so 128 * 510 fits a u16)
    let mut tmp = vec![0u16; h * stride];
    let mut padded = vec![0u8; (w + 2 * r) * c];
    let k16: Vec<u16> = k.iter().map(|&v| v as u16).collect();
    for y in 0..h {
        let row = &src[y * stride..(y + 1) * stride];
        padded[r * c..r * c + stride].copy_from_slice(row);
        for i in 0..r {
            let left = reflect101(i as isize - r as isize, w);
            let right = reflect101((w + i) as isize, w);
            padded[i * c..(i + 1) * c].copy_from_slice(&row[left * c..left * c + c]);
            let at = (w + r + i) * c;
            padded[at..at + c].copy_from_slice(&row[right * c..right * c + c]);
        }
        let out = &mut tmp[y * stride..(y + 1) * stride];
        for_blocks(stride, |start, len| {
            let mut acc = [0u16; BLOCK];
            let centre = &padded[r * c + start..r * c + start + len];
            for (a, &v) in acc.iter_mut().zip(centre) {
                *a = k16[r] * u16::from(v);
            }
            for (t, &kw) in k16.iter().enumerate().take(r) {
                let a_win = &padded[t * c + start..t * c + start + len];
                let b_win = &padded[(2 * r - t) * c + start..(2 * r - t) * c + start + len];
                for ((a, &x), &z) in acc.iter_mut().zip(a_win).zip(b_win) {
                    *a = a.wrapping_add(kw * (u16::from(x) + u16::from(z)));
                }
            }
            out[start..start + len].copy_from_slice(&acc[..len]);
        });
    }
    // vertical pass, rounding back to u8; the accumulators of a block stay in registers
    let mut out = vec![0u8; h * stride];
    let rows: Vec<usize> = (0..h + 2 * r)
        .map(|y| reflect101(y as isize - r as isize, h))
        .collect();
    for y in 0..h {
        let dst = &mut out[y * stride..(y + 1) * stride];
        for_blocks(stride, |start, len| {
            let at = |i: usize| &tmp[rows[i] * stride + start..rows[i] * stride + start + len];
            let mut acc = [1u32 << 15; BLOCK];
            for (a, &v) in acc.iter_mut().zip(at(y + r)) {
                *a += k[r] * u32::from(v);
            }
            for (t, &kw) in k.iter().enumerate().take(r) {
                for ((a, &x), &z) in acc.iter_mut().zip(at(y + t)).zip(at(y + 2 * r - t)) {
                    *a += kw * (u32::from(x) + u32::from(z));
                }
            }
            for (o, &a) in dst[start..start + len].iter_mut().zip(&acc) {
                *o = (a >> 16).min(255) as u8;
            }
        });
    }
    HwcImage::new(h, w, c, out).expect("same size as the input")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_sums_to_256_and_flat_images_stay_flat() {
        for s in [0.3, 1.0, 2.5] {
            assert_eq!(kernel(s).iter().sum::<u32>(), 256);
        }
        let img = HwcImage::filled(9, 7, 3, 200);
        assert_eq!(gaussian_blur(img.clone(), 1.7), img);
    }

    #[test]
    fn blur_spreads_an_impulse_symmetrically() {
        let mut img = HwcImage::filled(9, 9, 1, 0);
        img.data_mut()[4 * 9 + 4] = 255;
        let out = gaussian_blur(img, 1.0);
        assert!(out.pixel(4, 4)[0] < 255 && out.pixel(4, 4)[0] > 0);
        assert_eq!(out.pixel(3, 4), out.pixel(5, 4));
        assert_eq!(out.pixel(4, 3), out.pixel(4, 5));
    }
}
