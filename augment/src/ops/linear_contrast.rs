//! [`LinearContrast`]: `128 + alpha * (v - 128)` (imgaug's `LinearContrast`, formerly the
//! book's `ContrastNormalization`).

use rand::RngCore;

use crate::augmenter::{chance, uniform};
use crate::error::{check_probability, check_range};
use crate::ops::lut::apply_linear;
use crate::{Augmenter, HwcImage, Result};

/// Scales the distance of every value to mid-grey by `alpha` drawn from a range, for the whole
/// image or (with probability `per_channel`) per channel.
#[derive(Debug, Clone)]
pub struct LinearContrast {
    alpha: (f64, f64),
    per_channel: f64,
}

impl LinearContrast {
    /// `alpha` drawn from `[lo, hi]` (imgaug's default is `(0.6, 1.4)`).
    pub fn new(alpha: (f64, f64)) -> Result<Self> {
        check_range("LinearContrast", "alpha", alpha)?;
        Ok(LinearContrast {
            alpha,
            per_channel: 0.0,
        })
    }

    /// Draws one `alpha` per channel with probability `p` (imgaug's `per_channel`).
    pub fn per_channel(mut self, p: f64) -> Result<Self> {
        check_probability("LinearContrast", "per_channel", p)?;
        self.per_channel = p;
        Ok(self)
    }
}

impl Augmenter for LinearContrast {
    fn augment(&self, mut image: HwcImage, rng: &mut dyn RngCore) -> HwcImage {
        let n = if chance(rng, self.per_channel) {
            image.channels()
        } else {
            1
        };
        let alphas: Vec<f32> = (0..n).map(|_| uniform(rng, self.alpha) as f32).collect();
        // 128 + a (v - 128) = a v + 128 (1 - a)
        let offsets: Vec<f32> = alphas.iter().map(|a| 128.0 * (1.0 - a)).collect();
        apply_linear(&mut image, &alphas, &offsets);
        image
    }
    fn name(&self) -> &'static str {
        "LinearContrast"
    }
}
