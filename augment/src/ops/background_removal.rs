//! [`BackgroundRemoval`]: the plant-seedlings preprocessing — keep pixels close to one of a
//! list of target colours, black out the rest, then median-blur.

use rand::RngCore;

use crate::ops::median_blur;
use crate::{Augmenter, Error, HwcImage, Result};

/// Keeps a pixel when its Euclidean RGB distance to some target colour is below that target's
/// threshold; other pixels become black. A median blur of `median_ksize` then smooths the
/// mask's ragged edges (0 or 1 skips it). Deterministic: `rng` is not used.
#[derive(Debug, Clone)]
pub struct BackgroundRemoval {
    targets: Vec<([u8; 3], f32)>,
    median_ksize: usize,
}

impl BackgroundRemoval {
    /// `targets`: `(colour, threshold)` pairs; `median_ksize`: odd window of the blur.
    pub fn new(targets: Vec<([u8; 3], f32)>, median_ksize: usize) -> Result<Self> {
        if targets.is_empty() {
            return Err(Error::InvalidOption {
                transform: "BackgroundRemoval",
                option: "targets",
                problem: "needs at least one (colour, threshold) pair".into(),
            });
        }
        if let Some((c, t)) = targets.iter().find(|(_, t)| !(t.is_finite() && *t >= 0.0)) {
            return Err(Error::InvalidOption {
                transform: "BackgroundRemoval",
                option: "targets",
                problem: format!("threshold of colour {c:?} must be finite and >= 0, got {t}"),
            });
        }
        Ok(BackgroundRemoval {
            targets,
            median_ksize,
        })
    }

    /// The plant-seedlings chapter's leaf mask: pixels near one of three leaf greens (RGB
    /// distance under 60-70) kept, the soil and stones blacked out, then a median blur of 9.
    pub fn plant_greens() -> Self {
        BackgroundRemoval {
            targets: vec![
                ([60, 110, 40], 70.0),
                ([90, 140, 60], 70.0),
                ([40, 80, 30], 60.0),
            ],
            median_ksize: 9,
        }
    }

    /// The 0/1 mask of pixels kept (`1` = foreground), one byte per pixel.
    pub fn mask(&self, image: &HwcImage) -> Vec<u8> {
        let c = image.channels();
        image
            .data()
            .chunks_exact(c)
            .map(|px| {
                let rgb = if c >= 3 {
                    [px[0], px[1], px[2]]
                } else {
                    [px[0]; 3]
                };
                let keep = self.targets.iter().any(|(t, thr)| {
                    let d2: f32 = (0..3)
                        .map(|i| {
                            let d = f32::from(rgb[i]) - f32::from(t[i]);
                            d * d
                        })
                        .sum();
                    d2 < thr * thr
                });
                u8::from(keep)
            })
            .collect()
    }

    /// Applies the mask and the blur.
    pub fn apply(&self, mut image: HwcImage) -> HwcImage {
        let mask = self.mask(&image);
        let c = image.channels();
        for (px, &m) in image.data_mut().chunks_exact_mut(c).zip(&mask) {
            if m == 0 {
                px.fill(0);
            }
        }
        if self.median_ksize > 1 {
            median_blur(&image, self.median_ksize)
        } else {
            image
        }
    }
}

impl Augmenter for BackgroundRemoval {
    fn augment(&self, image: HwcImage, _rng: &mut dyn RngCore) -> HwcImage {
        self.apply(image)
    }
    fn name(&self) -> &'static str {
        "BackgroundRemoval"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_near_colours_and_blacks_out_the_rest() {
        let data = vec![60, 110, 40, 250, 250, 250, 65, 105, 45, 0, 0, 255];
        let img = HwcImage::new(1, 4, 3, data).unwrap();
        let br = BackgroundRemoval::new(vec![([60, 110, 40], 20.0)], 1).unwrap();
        assert_eq!(br.mask(&img), vec![1, 0, 1, 0]);
        let out = br.apply(img);
        assert_eq!(out.data(), &[60, 110, 40, 0, 0, 0, 65, 105, 45, 0, 0, 0]);
    }
}
