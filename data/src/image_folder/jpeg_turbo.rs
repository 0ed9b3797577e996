//! JPEG decoding through libjpeg-turbo (the `turbojpeg` crate, built from its bundled source):
//! the decoder PIL uses, so a full-size decode gives Keras' `load_img` pixels exactly, and the
//! one that scales in the IDCT by any multiple of 1/8 (PIL's `draft()`).

use std::cell::RefCell;

use convkit_augment::HwcImage;
use turbojpeg::{Colorspace, Decompressor, Image, PixelFormat, ScalingFactor};

use crate::image_file::check_pixels;

thread_local! {
    static DECOMPRESSOR: RefCell<Option<Decompressor>> = const { RefCell::new(None) };
    /// A full-size picture's buffer, given back by [`recycle`] once it was resized: the next
    /// decode on this thread reuses it instead of allocating and zeroing half a megabyte.
    static SPARE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The largest buffer a thread keeps for reuse (a 12-megapixel RGB photo): one huge picture
/// must not stay in every loader thread's memory for the rest of the run.
const MAX_SPARE_BYTES: usize = 36 << 20;

/// Hands `buffer` (a decoded picture no longer needed) to the next decode on this thread.
pub(crate) fn recycle(buffer: Vec<u8>) {
    if buffer.capacity() > MAX_SPARE_BYTES {
        return;
    }
    SPARE.with(|spare| {
        let mut spare = spare.borrow_mut();
        if buffer.capacity() > spare.capacity() {
            *spare = buffer;
        }
    });
}

/// The IDCT reductions used, strongest first: PIL's `draft()` ones (libjpeg-turbo offers
/// every multiple of 1/8, but 3/8 ... 7/8 save little time).
const REDUCTIONS: [(usize, usize); 3] = [(1, 8), (1, 4), (1, 2)];

/// The strongest IDCT reduction that keeps a `width x height` picture at least `target`
/// (`(height, width)`) on both sides, as PIL's `draft("RGB", size)` picks it; `None` when
/// none does.
pub(crate) fn reduction_for(
    (width, height): (usize, usize),
    (target_h, target_w): (usize, usize),
) -> Option<ScalingFactor> {
    REDUCTIONS
        .iter()
        .map(|&(n, d)| ScalingFactor::new(n, d))
        .find(|f| f.scale(width) >= target_w && f.scale(height) >= target_h)
}

/// Decodes a JPEG to RGB (or gray for one-channel files), scaled by `scale` in the IDCT when
/// given; `Ok(None)` for colour spaces libjpeg-turbo cannot turn into RGB (CMYK, YCCK), which
/// the caller decodes another way. Pictures over `max_pixels` are refused before any pixel is
/// decoded; corrupt data is an error, never a panic.
///
/// `scale` comes from the header: pass a function of the `(width, height)` it reads.
pub(crate) fn decode(
    bytes: &[u8],
    max_pixels: u64,
    scale: impl FnOnce((usize, usize)) -> Option<ScalingFactor>,
) -> Result<Option<HwcImage>, String> {
    DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot =
                Some(Decompressor::new().map_err(|e| format!("cannot start libjpeg-turbo: {e}"))?);
        }
        match slot.as_mut() {
            Some(d) => decode_with(d, bytes, max_pixels, scale),
            None => Err("cannot start libjpeg-turbo".into()),
        }
    })
}

fn decode_with(
    d: &mut Decompressor,
    bytes: &[u8],
    max_pixels: u64,
    scale: impl FnOnce((usize, usize)) -> Option<ScalingFactor>,
) -> Result<Option<HwcImage>, String> {
    let header = d
        .read_header(bytes)
        .map_err(|e| format!("corrupt JPEG: {e}"))?;
    check_pixels(header.width as u64, header.height as u64, max_pixels)?;
    let (format, channels) = match header.colorspace {
        Colorspace::Gray => (PixelFormat::GRAY, 1),
        Colorspace::YCbCr | Colorspace::RGB => (PixelFormat::RGB, 3),
        _ => return Ok(None),
    };
    if header.is_lossless {
        return Ok(None);
    }
    let factor = scale((header.width, header.height)).unwrap_or(ScalingFactor::ONE);
    d.set_scaling_factor(factor)
        .map_err(|e| format!("corrupt JPEG: {e}"))?;
    let scaled = header.scaled(factor);
    let (w, h) = (scaled.width, scaled.height);
    let pitch = w
        .checked_mul(channels)
        .ok_or_else(|| format!("corrupt JPEG: {w} pixels wide"))?;
    let len = pitch
        .checked_mul(h)
        .ok_or_else(|| format!("corrupt JPEG: {w}x{h}"))?;
    let mut pixels = SPARE.with(|spare| std::mem::take(&mut *spare.borrow_mut()));
    pixels.resize(len, 0);
    let image = Image {
        pixels: &mut pixels[..],
        width: w,
        pitch,
        height: h,
        format,
    };
    d.decompress(bytes, image)
        .map_err(|e| format!("corrupt or truncated JPEG: {e}"))?;
    HwcImage::new(h, w, channels, pixels)
        .map(Some)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_strongest_reduction_that_keeps_the_target() {
        let scale = |size, target| reduction_for(size, target).map(|f| (f.num(), f.denom()));
        // 420x390 to 150x150: 1/4 gives 105x98 (too small), 1/2 gives 210x195
        assert_eq!(scale((420, 390), (150, 150)), Some((1, 2)));
        assert_eq!(scale((1600, 1200), (150, 150)), Some((1, 8)));
        assert_eq!(scale((1000, 800), (150, 150)), Some((1, 4)));
        // a target wider than half the picture
        assert_eq!(scale((420, 390), (150, 250)), None);
        assert_eq!(scale((100, 100), (150, 150)), None);
    }
}
