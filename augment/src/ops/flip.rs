//! Mirror flips: [`Fliplr`] (left-right) and [`Flipud`] (top-bottom).

use rand::RngCore;

use crate::augmenter::chance;
use crate::error::check_probability;
use crate::{Augmenter, HwcImage, Result};

/// Mirrors the image left-right, in place.
pub fn flip_horizontal(x: &mut HwcImage) {
    let (w, c) = (x.width(), x.channels());
    if w == 0 {
        // An empty image (no row has a pixel) is its own mirror.
        return;
    }
    for row in x.data_mut().chunks_exact_mut(w * c) {
        match c {
            1 => row.reverse(),
            3 => flip_row_rgb(row),
            4 => row.as_chunks_mut::<4>().0.reverse(),
            _ => {
                row.reverse();
                for px in row.chunks_exact_mut(c) {
                    px.reverse();
                }
            }
        }
    }
}

/// Mirrors one RGB row: blocks of 16 pixels from both ends are reversed with a constant
/// byte permutation (which the compiler turns into vector shuffles) and exchanged.
fn flip_row_rgb(row: &mut [u8]) {
    const B: usize = 48;
    fn rev16(block: &[u8; B]) -> [u8; B] {
        let mut o = [0u8; B];
        for i in 0..16 {
            o[3 * i] = block[B - 3 - 3 * i];
            o[3 * i + 1] = block[B - 2 - 3 * i];
            o[3 * i + 2] = block[B - 1 - 3 * i];
        }
        o
    }
    let n = row.len();
    let (mut lo, mut hi) = (0, n);
    while hi - lo >= 2 * B {
        let (mut a, mut b) = ([0u8; B], [0u8; B]);
        a.copy_from_slice(&row[lo..lo + B]);
        b.copy_from_slice(&row[hi - B..hi]);
        row[lo..lo + B].copy_from_slice(&rev16(&b));
        row[hi - B..hi].copy_from_slice(&rev16(&a));
        lo += B;
        hi -= B;
    }
    row[lo..hi].as_chunks_mut::<3>().0.reverse();
}

/// Mirrors the image top-bottom, in place.
pub fn flip_vertical(x: &mut HwcImage) {
    let (h, stride) = (x.height(), x.width() * x.channels());
    let data = x.data_mut();
    for r in 0..h / 2 {
        let (top, bottom) = data.split_at_mut((h - 1 - r) * stride);
        top[r * stride..(r + 1) * stride].swap_with_slice(&mut bottom[..stride]);
    }
}

/// Mirrors left-right with probability `p` (imgaug's `Fliplr`).
#[derive(Debug, Clone)]
pub struct Fliplr {
    p: f64,
}

impl Fliplr {
    /// Flips with probability `p`.
    pub fn new(p: f64) -> Result<Self> {
        check_probability("Fliplr", "p", p)?;
        Ok(Fliplr { p })
    }
}

impl Augmenter for Fliplr {
    fn augment(&self, mut image: HwcImage, rng: &mut dyn RngCore) -> HwcImage {
        if chance(rng, self.p) {
            flip_horizontal(&mut image);
        }
        image
    }
    fn name(&self) -> &'static str {
        "Fliplr"
    }
}

/// Mirrors top-bottom with probability `p` (imgaug's `Flipud`).
#[derive(Debug, Clone)]
pub struct Flipud {
    p: f64,
}

impl Flipud {
    /// Flips with probability `p`.
    pub fn new(p: f64) -> Result<Self> {
        check_probability("Flipud", "p", p)?;
        Ok(Flipud { p })
    }
}

impl Augmenter for Flipud {
    fn augment(&self, mut image: HwcImage, rng: &mut dyn RngCore) -> HwcImage {
        if chance(rng, self.p) {
            flip_vertical(&mut image);
        }
        image
    }
    fn name(&self) -> &'static str {
        "Flipud"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_images_flip_without_a_panic() {
        // `augment preview --size 0` once panicked here ("chunk size must be non-zero").
        for (h, w) in [(0, 0), (0, 5), (5, 0)] {
            let mut img = HwcImage::new(h, w, 3, Vec::new()).unwrap();
            flip_horizontal(&mut img);
            flip_vertical(&mut img);
            assert_eq!(img.data().len(), 0);
        }
    }

    #[test]
    fn flips_mirror_pixels() {
        let img = HwcImage::new(2, 3, 3, (0..18).collect()).unwrap();
        let mut h = img.clone();
        flip_horizontal(&mut h);
        assert_eq!(h.pixel(0, 0), img.pixel(0, 2));
        assert_eq!(h.pixel(1, 1), img.pixel(1, 1));
        let mut v = img.clone();
        flip_vertical(&mut v);
        assert_eq!(v.row(0), img.row(1));
        // wide rows take the blocked path: compare with a pixel-by-pixel mirror
        for w in [31usize, 32, 33, 37, 150] {
            let img = HwcImage::new(
                2,
                w,
                3,
                (0..2 * w * 3).map(|v| (v * 7 % 251) as u8).collect(),
            )
            .unwrap();
            let mut f = img.clone();
            flip_horizontal(&mut f);
            for r in 0..2 {
                for c in 0..w {
                    assert_eq!(f.pixel(r, c), img.pixel(r, w - 1 - c), "w {w} ({r}, {c})");
                }
            }
        }
        let mut g = HwcImage::new(1, 4, 2, (0..8).collect()).unwrap();
        flip_horizontal(&mut g);
        assert_eq!(g.data(), &[6, 7, 4, 5, 2, 3, 0, 1]);
    }
}
