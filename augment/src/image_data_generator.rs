//! Keras' `ImageDataGenerator`: random rotation, shifts, shear, zoom, flips, channel shift
//! and brightness, composed into one affine warp and one resample.

use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::augmenter::{chance, uniform};
use crate::error::check_range;
use crate::ops::flip::{flip_horizontal, flip_vertical};
use crate::{warp_affine, Affine, Augmenter, Error, FillMode, HwcImage, Interpolation, Result};

/// The parameters of one random transform (Keras' `transform_parameters` dict).
///
/// As in Keras, `tx` shifts along rows (height) and `ty` along columns (width), in pixels;
/// `theta` and `shear` are in degrees; `zx` scales rows and `zy` columns.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TransformParams {
    /// Rotation in degrees.
    pub theta: f64,
    /// Shift along the height, in pixels.
    pub tx: f64,
    /// Shift along the width, in pixels.
    pub ty: f64,
    /// Shear angle in degrees.
    pub shear: f64,
    /// Zoom along the height (values < 1 zoom in).
    pub zx: f64,
    /// Zoom along the width.
    pub zy: f64,
    /// Mirror left-right.
    pub flip_horizontal: bool,
    /// Mirror top-bottom.
    pub flip_vertical: bool,
    /// Value added to every channel, clipped to the image's range.
    pub channel_shift_intensity: Option<f64>,
    /// Brightness factor (1 keeps the image).
    pub brightness: Option<f64>,
}

impl Default for TransformParams {
    fn default() -> Self {
        TransformParams {
            theta: 0.0,
            tx: 0.0,
            ty: 0.0,
            shear: 0.0,
            zx: 1.0,
            zy: 1.0,
            flip_horizontal: false,
            flip_vertical: false,
            channel_shift_intensity: None,
            brightness: None,
        }
    }
}

impl TransformParams {
    /// The inverse map (output pixel -> input point) of the geometric part for an image of
    /// `h x w`, composed as Keras' `apply_affine_transform`: rotation · shift · shear · zoom
    /// about the centre, built in Keras' swapped (x, y) frame.
    pub fn inverse_map(&self, h: usize, w: usize) -> Affine {
        let mut m = Affine::IDENTITY;
        if self.theta != 0.0 {
            m = m.then_before(&Affine::rotation(self.theta.to_radians()));
        }
        if self.tx != 0.0 || self.ty != 0.0 {
            m = m.then_before(&Affine::translation(self.tx, self.ty));
        }
        if self.shear != 0.0 {
            m = m.then_before(&Affine::shear(self.shear.to_radians()));
        }
        if self.zx != 1.0 || self.zy != 1.0 {
            m = m.then_before(&Affine::scale(self.zx, self.zy));
        }
        if m.is_identity() {
            return m;
        }
        // Keras centres with (h, w) on its (x, y) axes, then swaps x and y to index numpy's
        // (row, col) arrays: for non-square images the centre offsets trade places too.
        m.about(h as f64 / 2.0 - 0.5, w as f64 / 2.0 - 0.5)
            .swap_axes()
    }

    /// Whether the geometric part moves any pixel.
    pub fn is_geometric(&self) -> bool {
        self.theta != 0.0
            || self.tx != 0.0
            || self.ty != 0.0
            || self.shear != 0.0
            || self.zx != 1.0
            || self.zy != 1.0
    }
}

/// Keras' `ImageDataGenerator` augmentation options (Keras names and defaults).
///
/// # Example
/// ```
/// use convkit_augment::ImageDataGenerator;
/// // the book's cats-vs-dogs augmentation
/// let gen = ImageDataGenerator::default()
///     .rescale(1.0 / 255.0)
///     .rotation_range(40.0)
///     .width_shift_range(0.2)
///     .height_shift_range(0.2)
///     .shear_range(0.2)
///     .zoom_range(0.2)
///     .horizontal_flip(true);
/// assert!(gen.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageDataGenerator {
    /// Degrees: rotation drawn from `[-r, r]`.
    pub rotation_range: f64,
    /// Fraction of the width (or pixels when >= 1): shift drawn from `[-s, s]`.
    pub width_shift_range: f64,
    /// Fraction of the height (or pixels when >= 1).
    pub height_shift_range: f64,
    /// Brightness factor drawn from `[lo, hi]`.
    pub brightness_range: Option<(f64, f64)>,
    /// Degrees: shear drawn from `[-s, s]`.
    pub shear_range: f64,
    /// Zoom factors drawn independently for height and width from this range.
    pub zoom_range: (f64, f64),
    /// Channel shift drawn from `[-s, s]`.
    pub channel_shift_range: f64,
    /// How points outside the input are filled.
    pub fill_mode: FillMode,
    /// Mirror left-right with probability 1/2.
    pub horizontal_flip: bool,
    /// Mirror top-bottom with probability 1/2.
    pub vertical_flip: bool,
    /// Factor applied when images become floats (Keras applies it after the transform).
    pub rescale: Option<f32>,
    /// Resampling of the affine warp (Keras' `interpolation_order`, 1 = bilinear).
    pub interpolation: Interpolation,
}

impl Default for ImageDataGenerator {
    fn default() -> Self {
        ImageDataGenerator {
            rotation_range: 0.0,
            width_shift_range: 0.0,
            height_shift_range: 0.0,
            brightness_range: None,
            shear_range: 0.0,
            zoom_range: (1.0, 1.0),
            channel_shift_range: 0.0,
            fill_mode: FillMode::Nearest,
            horizontal_flip: false,
            vertical_flip: false,
            rescale: None,
            interpolation: Interpolation::Bilinear,
        }
    }
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.$name = value;
            self
        }
    };
}

impl ImageDataGenerator {
    /// The book's augmentation for the cats-vs-dogs convnet: rotation 40, shifts 0.2,
    /// shear 0.2, zoom 0.2, horizontal flip, nearest fill, rescale 1/255.
    pub fn book() -> Self {
        ImageDataGenerator::default()
            .rescale(1.0 / 255.0)
            .rotation_range(40.0)
            .width_shift_range(0.2)
            .height_shift_range(0.2)
            .shear_range(0.2)
            .zoom_range(0.2)
            .horizontal_flip(true)
    }

    setter!(/// Sets `rotation_range` (degrees).
        rotation_range: f64);
    setter!(/// Sets `width_shift_range` (fraction of the width, or pixels when >= 1).
        width_shift_range: f64);
    setter!(/// Sets `height_shift_range` (fraction of the height, or pixels when >= 1).
        height_shift_range: f64);
    setter!(/// Sets `shear_range` (degrees).
        shear_range: f64);
    setter!(/// Sets `channel_shift_range`.
        channel_shift_range: f64);
    setter!(/// Sets `fill_mode`.
        fill_mode: FillMode);
    setter!(/// Sets `horizontal_flip`.
        horizontal_flip: bool);
    setter!(/// Sets `vertical_flip`.
        vertical_flip: bool);
    setter!(/// Sets the resampling of the warp.
        interpolation: Interpolation);

    /// Sets `zoom_range` as Keras' float `z`: factors in `[1 - z, 1 + z]`.
    pub fn zoom_range(mut self, z: f64) -> Self {
        self.zoom_range = (1.0 - z, 1.0 + z);
        self
    }

    /// Sets `zoom_range` as an explicit `[lo, hi]`.
    pub fn zoom_range_pair(mut self, lo: f64, hi: f64) -> Self {
        self.zoom_range = (lo, hi);
        self
    }

    /// Sets `brightness_range`.
    pub fn brightness_range(mut self, lo: f64, hi: f64) -> Self {
        self.brightness_range = Some((lo, hi));
        self
    }

    /// Sets `rescale`.
    pub fn rescale(mut self, factor: f32) -> Self {
        self.rescale = Some(factor);
        self
    }

    /// Checks every option; the loader calls this before the first batch.
    pub fn validate(&self) -> Result<()> {
        const T: &str = "ImageDataGenerator";
        let non_negative = [
            ("rotation_range", self.rotation_range),
            ("width_shift_range", self.width_shift_range),
            ("height_shift_range", self.height_shift_range),
            ("shear_range", self.shear_range),
            ("channel_shift_range", self.channel_shift_range),
        ];
        for (option, v) in non_negative {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::InvalidOption {
                    transform: T,
                    option,
                    problem: format!("must be a finite number >= 0, got {v}"),
                });
            }
        }
        check_range(T, "zoom_range", self.zoom_range)?;
        if self.zoom_range.0 <= 0.0 {
            return Err(Error::InvalidOption {
                transform: T,
                option: "zoom_range",
                problem: format!("factors must be > 0, got {:?}", self.zoom_range),
            });
        }
        if let Some(b) = self.brightness_range {
            check_range(T, "brightness_range", b)?;
        }
        Ok(())
    }

    /// Draws the parameters of one transform for an `h x w` image (Keras' `random_transform`).
    pub fn random_transform(&self, h: usize, w: usize, rng: &mut dyn RngCore) -> TransformParams {
        let sym = |rng: &mut dyn RngCore, r: f64| {
            if r > 0.0 {
                uniform(rng, (-r, r))
            } else {
                0.0
            }
        };
        let theta = sym(rng, self.rotation_range);
        let mut tx = sym(rng, self.height_shift_range);
        if self.height_shift_range < 1.0 {
            tx *= h as f64;
        }
        let mut ty = sym(rng, self.width_shift_range);
        if self.width_shift_range < 1.0 {
            ty *= w as f64;
        }
        let shear = sym(rng, self.shear_range);
        let (zx, zy) = if self.zoom_range == (1.0, 1.0) {
            (1.0, 1.0)
        } else {
            (uniform(rng, self.zoom_range), uniform(rng, self.zoom_range))
        };
        let flip_horizontal = self.horizontal_flip && chance(rng, 0.5);
        let flip_vertical = self.vertical_flip && chance(rng, 0.5);
        let channel_shift_intensity =
            (self.channel_shift_range != 0.0).then(|| sym(rng, self.channel_shift_range));
        let brightness = self.brightness_range.map(|r| uniform(rng, r));
        TransformParams {
            theta,
            tx,
            ty,
            shear,
            zx,
            zy,
            flip_horizontal,
            flip_vertical,
            channel_shift_intensity,
            brightness,
        }
    }

    /// Applies `p` to `image` (Keras' `apply_transform`): the affine warp, channel shift,
    /// flips, then brightness.
    pub fn apply_transform(&self, image: HwcImage, p: &TransformParams) -> HwcImage {
        let (h, w) = (image.height(), image.width());
        let mut x = if p.is_geometric() {
            warp_affine(
                &image,
                &p.inverse_map(h, w),
                h,
                w,
                self.interpolation,
                self.fill_mode,
            )
        } else {
            image
        };
        if let Some(s) = p.channel_shift_intensity {
            channel_shift(&mut x, s);
        }
        if p.flip_horizontal {
            flip_horizontal(&mut x);
        }
        if p.flip_vertical {
            flip_vertical(&mut x);
        }
        if let Some(b) = p.brightness {
            brightness(&mut x, b);
        }
        x
    }
}

impl Augmenter for ImageDataGenerator {
    fn augment(&self, image: HwcImage, rng: &mut dyn RngCore) -> HwcImage {
        let p = self.random_transform(image.height(), image.width(), rng);
        self.apply_transform(image, &p)
    }
    fn name(&self) -> &'static str {
        "ImageDataGenerator"
    }
    fn rescale(&self) -> Option<f32> {
        self.rescale
    }
}

/// Keras' `apply_channel_shift`: adds `intensity` and clips to the image's own min and max.
fn channel_shift(x: &mut HwcImage, intensity: f64) {
    let (lo, hi) = x
        .data()
        .iter()
        .fold((255u8, 0u8), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    for v in x.data_mut() {
        *v = (f64::from(*v) + intensity)
            .clamp(f64::from(lo), f64::from(hi))
            .round() as u8;
    }
}

/// Keras' `apply_brightness_shift` (PIL's `ImageEnhance.Brightness`): scales by `factor`.
fn brightness(x: &mut HwcImage, factor: f64) {
    let lut: Vec<u8> = (0..256)
        .map(|v| (f64::from(v) * factor).clamp(0.0, 255.0) as u8)
        .collect();
    for v in x.data_mut() {
        *v = lut[usize::from(*v)];
    }
}
