//! [`Multiply`]: multiplies values by a factor drawn from a range (imgaug's `Multiply`).

use rand::RngCore;

use crate::augmenter::{chance, uniform};
use crate::error::{check_probability, check_range};
use crate::ops::lut::apply_linear;
use crate::{Augmenter, HwcImage, Result};

/// Multiplies the whole image, or each channel (with probability `per_channel`), by a factor
/// drawn from `mul`.
#[derive(Debug, Clone)]
pub struct Multiply {
    mul: (f64, f64),
    per_channel: f64,
}

impl Multiply {
    /// Factors drawn from `[lo, hi]`, e.g. `(0.8, 1.2)`.
    pub fn new(mul: (f64, f64)) -> Result<Self> {
        check_range("Multiply", "mul", mul)?;
        Ok(Multiply {
            mul,
            per_channel: 0.0,
        })
    }

    /// Draws one factor per channel with probability `p`.
    pub fn per_channel(mut self, p: f64) -> Result<Self> {
        check_probability("Multiply", "per_channel", p)?;
        self.per_channel = p;
        Ok(self)
    }
}

impl Augmenter for Multiply {
    fn augment(&self, mut image: HwcImage, rng: &mut dyn RngCore) -> HwcImage {
        let n = if chance(rng, self.per_channel) {
            image.channels()
        } else {
            1
        };
        let factors: Vec<f32> = (0..n).map(|_| uniform(rng, self.mul) as f32).collect();
        apply_linear(&mut image, &factors, &vec![0.0; n]);
        image
    }
    fn name(&self) -> &'static str {
        "Multiply"
    }
}
