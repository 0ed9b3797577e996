//! [`AdditiveGaussianNoise`]: adds `N(loc, scale)` noise per pixel (imgaug's transform).

use rand::RngCore;
use rand_distr::{Distribution, StandardNormal};

use crate::augmenter::{chance, uniform};
use crate::error::{check_probability, check_range};
use crate::fast_rng::WyRand;
use crate::{Augmenter, Error, HwcImage, Result};

/// Adds Gaussian noise with mean `loc` and a standard deviation drawn per image from `scale`
/// (in 0..255 units); the same noise value for all channels of a pixel unless `per_channel`.
#[derive(Debug, Clone)]
pub struct AdditiveGaussianNoise {
    loc: f64,
    scale: (f64, f64),
    per_channel: f64,
}

impl AdditiveGaussianNoise {
    /// Noise `N(loc, s)` with `s` drawn from `scale`, e.g. `(0.0, 0.05 * 255.0)`.
    pub fn new(loc: f64, scale: (f64, f64)) -> Result<Self> {
        check_range("AdditiveGaussianNoise", "scale", scale)?;
        if scale.0 < 0.0 || !loc.is_finite() {
            return Err(Error::InvalidOption {
                transform: "AdditiveGaussianNoise",
                option: "scale",
                problem: format!("must be >= 0 with a finite loc, got {scale:?}, loc {loc}"),
            });
        }
        Ok(AdditiveGaussianNoise {
            loc,
            scale,
            per_channel: 0.0,
        })
    }

    /// Draws independent noise per channel with probability `p`.
    pub fn per_channel(mut self, p: f64) -> Result<Self> {
        check_probability("AdditiveGaussianNoise", "per_channel", p)?;
        self.per_channel = p;
        Ok(self)
    }
}

impl Augmenter for AdditiveGaussianNoise {
    fn augment(&self, mut image: HwcImage, rng: &mut dyn RngCore) -> HwcImage {
        let per_channel = chance(rng, self.per_channel);
        let s = uniform(rng, self.scale) as f32;
        let loc = self.loc as f32 + 0.5; // + 0.5: round to nearest below
        let mut fast = WyRand::from_rng(rng);
        let c = image.channels();
        let noisy = |v: u8, n: f32| (f32::from(v) + loc + s * n).clamp(0.0, 255.0) as u8;
        if per_channel || c == 1 {
            for v in image.data_mut() {
                let n: f32 = StandardNormal.sample(&mut fast);
                *v = noisy(*v, n);
            }
        } else {
            for px in image.data_mut().chunks_exact_mut(c) {
                let n: f32 = StandardNormal.sample(&mut fast);
                for v in px {
                    *v = noisy(*v, n);
                }
            }
        }
        image
    }
    fn name(&self) -> &'static str {
        "AdditiveGaussianNoise"
    }
}
