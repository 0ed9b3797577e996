//! One policy for every image file a user gives, whether it sits in a class folder or is named
//! on the command line (`predict`, `gradcam`, `segment`): only regular files, at most
//! [`MAX_IMAGE_FILE_BYTES`], recognised by their bytes (not their extension), JPEGs whole
//! (a truncated JPEG is refused, not used half-grey), at most [`MAX_IMAGE_PIXELS`] pixels
//! (decompression bombs), and no decoder panic ever reaches the caller.

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageFormat, ImageReader, Limits};

use crate::{Error, Result};

/// Largest image file read (1 GiB).
pub const MAX_IMAGE_FILE_BYTES: u64 = 1 << 30;

/// Most pixels an image may have: twice PIL's `MAX_IMAGE_PIXELS`, PIL's own error threshold.
pub const MAX_IMAGE_PIXELS: u64 = 2 * 89_478_485;

/// Reads the image file at `path` at its own size, under the policy of this module.
pub fn open_image(path: &Path) -> Result<DynamicImage> {
    let bytes = read_image_bytes(path)?;
    decode_image(&bytes, MAX_IMAGE_PIXELS).map_err(|problem| Error::Image {
        path: path.to_path_buf(),
        problem,
    })
}

/// The bytes of the image file at `path`: a regular file, not empty, at most
/// [`MAX_IMAGE_FILE_BYTES`].
pub fn read_image_bytes(path: &Path) -> Result<Vec<u8>> {
    let bytes = convkit_tensor::files::read_regular_file(path, MAX_IMAGE_FILE_BYTES)?;
    if bytes.is_empty() {
        return Err(Error::Image {
            path: path.to_path_buf(),
            problem: "empty file (0 bytes)".into(),
        });
    }
    Ok(bytes)
}

/// Decodes image bytes of any supported format with at most `max_pixels` pixels.
pub fn decode_image(bytes: &[u8], max_pixels: u64) -> Result<DynamicImage, String> {
    std::panic::catch_unwind(|| {
        let format = image::guess_format(bytes)
            .map_err(|_| "not an image (unrecognised file signature)".to_string())?;
        decode_format(bytes, format, max_pixels)
    })
    .unwrap_or_else(|_| Err("the decoder failed on this file".into()))
}

/// Decodes bytes known to be `format`, checking completeness and size first.
pub(crate) fn decode_format(
    bytes: &[u8],
    format: ImageFormat,
    max_pixels: u64,
) -> Result<DynamicImage, String> {
    if format == ImageFormat::Jpeg {
        check_jpeg_complete(bytes)?;
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    let side = (max_pixels as f64).sqrt() as u32;
    limits.max_image_width = Some(side.saturating_mul(64));
    limits.max_image_height = Some(side.saturating_mul(64));
    limits.max_alloc = Some(max_pixels.saturating_mul(8));
    reader.limits(limits);
    let (w, h) = reader
        .into_dimensions()
        .map_err(|e| format!("corrupt {format:?} image: {e}"))?;
    check_pixels(u64::from(w), u64::from(h), max_pixels)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_alloc = Some(max_pixels.saturating_mul(8));
    reader.limits(limits);
    reader
        .decode()
        .map_err(|e| format!("corrupt or truncated {format:?} image: {e}"))
}

/// Refuses images of more than `max_pixels` pixels.
pub(crate) fn check_pixels(w: u64, h: u64, max_pixels: u64) -> Result<(), String> {
    let pixels = w.saturating_mul(h);
    if pixels > max_pixels {
        return Err(format!(
            "{w}x{h} = {pixels} pixels exceeds the limit of {max_pixels} (possible decompression bomb)"
        ));
    }
    Ok(())
}

/// A JPEG must have image data and end with its end-of-image marker: decoders fill a cut
/// file with grey and report success, which would train or predict on a half-grey picture.
pub(crate) fn check_jpeg_complete(bytes: &[u8]) -> Result<(), String> {
    let last = |marker: u8| bytes.windows(2).rposition(|w| w == [0xFF, marker]);
    match (last(0xDA), last(0xD9)) {
        (Some(sos), Some(eoi)) if eoi > sos => Ok(()),
        (None, _) => Err("corrupt JPEG: no image data (start-of-scan marker missing)".into()),
        _ => Err("truncated JPEG: the end-of-image marker is missing".into()),
    }
}
