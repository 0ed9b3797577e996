//! [`Augmenter`]: what every per-image CPU transform implements.

use rand::RngCore;

use crate::HwcImage;

/// A random transform of one u8 HWC image.
///
/// All randomness comes from `rng`, so a caller that derives `rng` from (seed, epoch, sample)
/// gets the same output whatever thread runs it.
pub trait Augmenter: Send + Sync + std::fmt::Debug {
    /// Transforms `image` (consumed; many transforms work in place).
    fn augment(&self, image: HwcImage, rng: &mut dyn RngCore) -> HwcImage;

    /// A short name for logs and benches (`"Fliplr"`, `"ImageDataGenerator"`...).
    fn name(&self) -> &'static str;

    /// The factor applied when images become floats, when the augmenter carries one
    /// (Keras' `ImageDataGenerator(rescale=...)`); loaders apply it.
    fn rescale(&self) -> Option<f32> {
        None
    }
}

impl<A: Augmenter + ?Sized> Augmenter for Box<A> {
    fn augment(&self, image: HwcImage, rng: &mut dyn RngCore) -> HwcImage {
        (**self).augment(image, rng)
    }
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn rescale(&self) -> Option<f32> {
        (**self).rescale()
    }
}

impl<A: Augmenter + ?Sized> Augmenter for std::sync::Arc<A> {
    fn augment(&self, image: HwcImage, rng: &mut dyn RngCore) -> HwcImage {
        (**self).augment(image, rng)
    }
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn rescale(&self) -> Option<f32> {
        (**self).rescale()
    }
}

/// Draws a uniform value in `[lo, hi]` (`lo` when the range is empty).
pub(crate) fn uniform(rng: &mut dyn RngCore, (lo, hi): (f64, f64)) -> f64 {
    if hi <= lo {
        return lo;
    }
    let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    lo + (hi - lo) * u
}

/// True with probability `p`.
pub(crate) fn chance(rng: &mut dyn RngCore, p: f64) -> bool {
    if p >= 1.0 {
        return true;
    }
    if p <= 0.0 {
        return false;
    }
    uniform(rng, (0.0, 1.0)) < p
}

/// A uniform index in `0..n` (`n > 0`).
pub(crate) fn index(rng: &mut dyn RngCore, n: usize) -> usize {
    ((rng.next_u64() as u128 * n as u128) >> 64) as usize
}
