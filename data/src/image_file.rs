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
    // The rule is "the last start-of-scan comes before the last end-of-image". Searched from
    // the ends it costs a few bytes on a whole file (the last EOI is its last two bytes, the
    // first SOS follows the headers), instead of a scan of every byte for the last SOS.
    let is = |marker: u8| move |w: &[u8]| w == [0xFF, marker];
    let first_sos = |upto: usize| bytes[..upto].windows(2).position(is(0xDA));
    let no_image_data = || "corrupt JPEG: no image data (start-of-scan marker missing)".to_string();
    let truncated = || "truncated JPEG: the end-of-image marker is missing".to_string();
    let Some(eoi) = bytes.windows(2).rposition(is(0xD9)) else {
        return Err(first_sos(bytes.len()).map_or_else(no_image_data, |_| truncated()));
    };
    if bytes[eoi..].windows(2).any(is(0xDA)) {
        return Err(truncated());
    }
    first_sos(eoi).map(|_| ()).ok_or_else(no_image_data)
}

#[cfg(test)]
mod tests {
    use super::check_jpeg_complete;

    /// The plain rule: the last SOS marker before the last EOI marker.
    fn by_full_scan(bytes: &[u8]) -> Result<(), String> {
        let last = |marker: u8| bytes.windows(2).rposition(|w| w == [0xFF, marker]);
        match (last(0xDA), last(0xD9)) {
            (Some(sos), Some(eoi)) if eoi > sos => Ok(()),
            (None, _) => Err("corrupt JPEG: no image data (start-of-scan marker missing)".into()),
            _ => Err("truncated JPEG: the end-of-image marker is missing".into()),
        }
    }

    #[test]
    fn the_searches_from_the_ends_agree_with_a_full_scan() {
        const SOI: [u8; 2] = [0xFF, 0xD8];
        const SOS: [u8; 2] = [0xFF, 0xDA];
        const EOI: [u8; 2] = [0xFF, 0xD9];
        let cases: Vec<Vec<u8>> = vec![
            [&SOI[..], &SOS, &[1, 2, 3], &EOI].concat(),
            // cut before the end-of-image marker
            [&SOI[..], &SOS, &[1, 2, 3]].concat(),
            // no scan at all
            [&SOI[..], &[1, 2, 3], &EOI].concat(),
            [&SOI[..], &[1, 2, 3]].concat(),
            // an EXIF thumbnail ends (EOI) before the main scan, which is then cut
            [&SOI[..], &SOS, &EOI, &[7], &SOS, &[1, 2]].concat(),
            // progressive: several scans, the file complete
            [&SOI[..], &SOS, &[1], &SOS, &[2], &SOS, &[3], &EOI].concat(),
            // trailing bytes after the end-of-image marker
            [&SOI[..], &SOS, &[1], &EOI, &[0, 0xFF]].concat(),
            vec![0xFF],
            vec![],
        ];
        for bytes in cases {
            assert_eq!(
                check_jpeg_complete(&bytes),
                by_full_scan(&bytes),
                "{bytes:?}"
            );
        }
    }
}
