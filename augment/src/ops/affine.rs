//! [`RandomAffine`]: imgaug's `Affine` — scale, translate, rotate and shear about the image
//! centre, drawn from ranges, in one warp.

use rand::RngCore;

use crate::augmenter::uniform;
use crate::error::check_range;
use crate::{warp_affine, Affine, Augmenter, Error, FillMode, HwcImage, Interpolation, Result};

/// Random affine transform about the centre. Ranges: `scale` (factor), `translate_percent`
/// (fraction of the size, drawn per axis), `rotate` and `shear` (degrees).
#[derive(Debug, Clone)]
pub struct RandomAffine {
    scale: (f64, f64),
    translate_percent: (f64, f64),
    rotate: (f64, f64),
    shear: (f64, f64),
    interpolation: Interpolation,
    fill_mode: FillMode,
}

impl Default for RandomAffine {
    fn default() -> Self {
        RandomAffine {
            scale: (1.0, 1.0),
            translate_percent: (0.0, 0.0),
            rotate: (0.0, 0.0),
            shear: (0.0, 0.0),
            interpolation: Interpolation::Bilinear,
            fill_mode: FillMode::Constant(0.0),
        }
    }
}

impl RandomAffine {
    /// The identity; set ranges with the builder methods.
    pub fn new() -> Self {
        Self::default()
    }

    /// Scale factor range, e.g. `(0.8, 1.2)`.
    pub fn scale(mut self, range: (f64, f64)) -> Result<Self> {
        check_range("Affine", "scale", range)?;
        if range.0 <= 0.0 {
            return Err(Error::InvalidOption {
                transform: "Affine",
                option: "scale",
                problem: format!("factors must be > 0, got {range:?}"),
            });
        }
        self.scale = range;
        Ok(self)
    }

    /// Translation range as a fraction of the size, e.g. `(-0.2, 0.2)`.
    pub fn translate_percent(mut self, range: (f64, f64)) -> Result<Self> {
        check_range("Affine", "translate_percent", range)?;
        self.translate_percent = range;
        Ok(self)
    }

    /// Rotation range in degrees, e.g. `(-45.0, 45.0)`.
    pub fn rotate(mut self, range: (f64, f64)) -> Result<Self> {
        check_range("Affine", "rotate", range)?;
        self.rotate = range;
        Ok(self)
    }

    /// Shear range in degrees, e.g. `(-16.0, 16.0)`.
    pub fn shear(mut self, range: (f64, f64)) -> Result<Self> {
        check_range("Affine", "shear", range)?;
        self.shear = range;
        Ok(self)
    }

    /// Resampling (bilinear by default).
    pub fn interpolation(mut self, interpolation: Interpolation) -> Self {
        self.interpolation = interpolation;
        self
    }

    /// Fill of uncovered pixels (constant 0 by default, as imgaug).
    pub fn fill_mode(mut self, fill_mode: FillMode) -> Self {
        self.fill_mode = fill_mode;
        self
    }
}

impl Augmenter for RandomAffine {
    fn augment(&self, image: HwcImage, rng: &mut dyn RngCore) -> HwcImage {
        let (h, w) = (image.height() as f64, image.width() as f64);
        let s = uniform(rng, self.scale);
        let ty = uniform(rng, self.translate_percent) * h;
        let tx = uniform(rng, self.translate_percent) * w;
        let rot = uniform(rng, self.rotate).to_radians();
        let shear = uniform(rng, self.shear).to_radians();
        // forward map in (row, col): translate · rotate · shear · scale about the centre
        let forward = Affine::translation(ty, tx)
            .then_before(&Affine::rotation(rot))
            .then_before(&Affine::from_rows([
                [1.0, 0.0, 0.0],
                [shear.tan(), 1.0, 0.0],
            ]))
            .then_before(&Affine::scale(s, s))
            .about(h / 2.0 - 0.5, w / 2.0 - 0.5);
        let Some(inverse) = forward.inverse() else {
            return image;
        };
        warp_affine(
            &image,
            &inverse,
            image.height(),
            image.width(),
            self.interpolation,
            self.fill_mode,
        )
    }
    fn name(&self) -> &'static str {
        "Affine"
    }
}
