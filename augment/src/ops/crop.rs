//! [`Crop`]: crops a random fraction from each side, then resizes back (imgaug's
//! `Crop(percent=..., keep_size=True)`), in one resample.

use rand::RngCore;

use crate::augmenter::uniform;
use crate::error::check_range;
use crate::{warp_affine, Affine, Augmenter, Error, FillMode, HwcImage, Interpolation, Result};

/// Crops `percent` (drawn independently per side from a range in `[0, 1)`) of the height from
/// the top and bottom and of the width from the left and right, keeping the image size.
#[derive(Debug, Clone)]
pub struct Crop {
    percent: (f64, f64),
    interpolation: Interpolation,
}

impl Crop {
    /// Fractions per side drawn from `percent`, e.g. `(0.0, 0.1)`.
    pub fn new(percent: (f64, f64)) -> Result<Self> {
        check_range("Crop", "percent", percent)?;
        if percent.0 < 0.0 || percent.1 >= 0.5 {
            return Err(Error::InvalidOption {
                transform: "Crop",
                option: "percent",
                problem: format!("fractions per side must lie in [0, 0.5), got {percent:?}"),
            });
        }
        Ok(Crop {
            percent,
            interpolation: Interpolation::Bilinear,
        })
    }

    /// Sets the resampling used to resize back.
    pub fn interpolation(mut self, interpolation: Interpolation) -> Self {
        self.interpolation = interpolation;
        self
    }
}

impl Augmenter for Crop {
    fn augment(&self, image: HwcImage, rng: &mut dyn RngCore) -> HwcImage {
        let (h, w) = (image.height() as f64, image.width() as f64);
        let top = (uniform(rng, self.percent) * h).round();
        let right = (uniform(rng, self.percent) * w).round();
        let bottom = (uniform(rng, self.percent) * h).round();
        let left = (uniform(rng, self.percent) * w).round();
        let (ch, cw) = ((h - top - bottom).max(1.0), (w - left - right).max(1.0));
        if ch == h && cw == w {
            return image;
        }
        // output pixel centre (r + 0.5) maps to top + (r + 0.5) * ch / h in the input
        let (sy, sx) = (ch / h, cw / w);
        let m = Affine::from_rows([
            [sy, 0.0, top + 0.5 * sy - 0.5],
            [0.0, sx, left + 0.5 * sx - 0.5],
        ]);
        warp_affine(
            &image,
            &m,
            image.height(),
            image.width(),
            self.interpolation,
            FillMode::Nearest,
        )
    }
    fn name(&self) -> &'static str {
        "Crop"
    }
}
