//! Reading one image file into a resized u8 [`HwcImage`]: JPEGs through libjpeg-turbo (PIL's
//! decoder, reduced-scale (DCT) decoding on request), PIL's nearest-neighbour rule,
//! everything else through `image`, with a pixel limit against decompression bombs. Never
//! panics on a bad file.

use std::cell::RefCell;
use std::path::Path;

use convkit_augment::HwcImage;
use fast_image_resize::{images::Image, FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::{DynamicImage, ImageFormat};

use super::options::{ColorMode, ResizeFilter};
use super::{jpeg_turbo, nearest_pil};
use crate::image_file::{check_jpeg_complete, decode_format};

/// Decodes and resizes image files.
#[derive(Debug, Clone)]
pub struct ImageDecoder {
    /// `(height, width)` of the output.
    pub target_size: (usize, usize),
    /// Channels of the output.
    pub color_mode: ColorMode,
    /// Resize filter.
    pub filter: ResizeFilter,
    /// Images with more pixels are refused.
    pub max_pixels: u64,
    /// Decode JPEGs at a reduced scale (1/2, 1/4 or 1/8 in the IDCT, as PIL's `draft()`)
    /// when the picture stays at least the target size: faster, but the pixels are no longer
    /// Keras' (`load_img` decodes at full size): measured against it with bilinear resizing,
    /// a largest difference of 7 grey levels at 1/2 and 40 at 1/4, instead of 1 at full size
    /// (`data/tests/jpeg_decode_golden.rs`).
    pub dct_scaling: bool,
}

thread_local! {
    static RESIZER: RefCell<Resizer> = RefCell::new(Resizer::new());
}

impl ImageDecoder {
    /// Reads `path` and returns the resized image, or why it cannot be used.
    pub fn load(&self, path: &Path) -> Result<HwcImage, String> {
        let bytes = crate::image_file::read_image_bytes(path).map_err(|e| match e {
            crate::Error::Image { problem, .. } => problem,
            other => other.to_string(),
        })?;
        self.decode(&bytes)
    }

    /// Decodes `bytes` and resizes; catches decoder panics as errors.
    pub fn decode(&self, bytes: &[u8]) -> Result<HwcImage, String> {
        if bytes.is_empty() {
            return Err("empty file (0 bytes)".into());
        }
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.decode_inner(bytes)))
            .unwrap_or_else(|_| Err("the decoder failed on this file".into()))
    }

    fn decode_inner(&self, bytes: &[u8]) -> Result<HwcImage, String> {
        let format = image::guess_format(bytes)
            .map_err(|_| "not an image (unrecognised file signature)".to_string())?;
        if format == ImageFormat::Jpeg {
            check_jpeg_complete(bytes)?;
        }
        let img = if format == ImageFormat::Jpeg {
            match self.decode_jpeg(bytes)? {
                Some(img) => img,
                None => self.decode_generic(bytes, format)?,
            }
        } else {
            self.decode_generic(bytes, format)?
        };
        self.resize(img)
    }

    /// libjpeg-turbo's decode (PIL's decoder), at a reduced scale when [`Self::dct_scaling`]
    /// and the target allow it; `None` (the generic path) for colour spaces it cannot turn
    /// into RGB (CMYK, YCCK) and lossless JPEGs.
    fn decode_jpeg(&self, bytes: &[u8]) -> Result<Option<HwcImage>, String> {
        let target = self.target_size;
        let scaling = self.dct_scaling;
        let img = jpeg_turbo::decode(bytes, self.max_pixels, |size| {
            scaling
                .then(|| jpeg_turbo::reduction_for(size, target))
                .flatten()
        })?;
        Ok(img.map(|img| self.convert_channels(img)))
    }

    fn decode_generic(&self, bytes: &[u8], format: ImageFormat) -> Result<HwcImage, String> {
        let img = decode_format(bytes, format, self.max_pixels)?;
        Ok(self.convert_dynamic(img))
    }

    #[allow(
        clippy::expect_used,
        reason = "an RGBA buffer holds 4 bytes for each of its w x h pixels, the size `HwcImage::new` checks"
    )]
    fn convert_dynamic(&self, img: DynamicImage) -> HwcImage {
        match self.color_mode {
            ColorMode::Rgb => HwcImage::from_rgb(img.into_rgb8()),
            ColorMode::Rgba => {
                let rgba = img.into_rgba8();
                let (w, h) = rgba.dimensions();
                HwcImage::new(h as usize, w as usize, 4, rgba.into_raw())
                    .expect("rgba buffer has 4 bytes per pixel")
            }
            ColorMode::Grayscale => {
                if img.color().channel_count() <= 2 {
                    HwcImage::from_gray(img.into_luma8())
                } else {
                    self.convert_channels(HwcImage::from_rgb(img.into_rgb8()))
                }
            }
        }
    }

    /// Gray <-> RGB(A) conversion with PIL's rules (`L = (299 R + 587 G + 114 B) / 1000`).
    #[allow(
        clippy::expect_used,
        reason = "`out` receives `want` bytes for each of the h x w pixels, the size `HwcImage::new` checks"
    )]
    fn convert_channels(&self, img: HwcImage) -> HwcImage {
        let want = self.color_mode.channels();
        let have = img.channels();
        if want == have {
            return img;
        }
        let (h, w) = (img.height(), img.width());
        let src = img.data();
        let mut out = Vec::with_capacity(h * w * want);
        for px in src.chunks_exact(have) {
            let gray = if have >= 3 {
                ((299 * u32::from(px[0]) + 587 * u32::from(px[1]) + 114 * u32::from(px[2]) + 500)
                    / 1000) as u8
            } else {
                px[0]
            };
            match want {
                1 => out.push(gray),
                _ => {
                    let rgb = if have >= 3 {
                        [px[0], px[1], px[2]]
                    } else {
                        [gray; 3]
                    };
                    out.extend_from_slice(&rgb);
                    if want == 4 {
                        out.push(if have == 4 || have == 2 {
                            px[have - 1]
                        } else {
                            255
                        });
                    }
                }
            }
        }
        HwcImage::new(h, w, want, out).expect("converted buffer has the right size")
    }

    /// Resizes to the target size (a copy-free no-op when already there).
    pub fn resize(&self, img: HwcImage) -> Result<HwcImage, String> {
        let img = self.convert_channels(img);
        let (th, tw) = self.target_size;
        if img.height() == th && img.width() == tw {
            return Ok(img);
        }
        if self.filter == ResizeFilter::Nearest {
            let resized = nearest_pil::resize_nearest(&img, self.target_size);
            jpeg_turbo::recycle(img.into_raw());
            return resized;
        }
        let c = img.channels();
        let pixel_type = match c {
            1 => PixelType::U8,
            3 => PixelType::U8x3,
            4 => PixelType::U8x4,
            _ => return Err(format!("cannot resize an image with {c} channels")),
        };
        let (h, w) = (img.height() as u32, img.width() as u32);
        let src = Image::from_vec_u8(w, h, img.into_raw(), pixel_type)
            .map_err(|e| format!("resize: {e}"))?;
        let mut dst = Image::new(tw as u32, th as u32, pixel_type);
        let alg = match self.filter {
            ResizeFilter::Nearest => ResizeAlg::Nearest, // handled above, as PIL does it
            ResizeFilter::Bilinear => ResizeAlg::Convolution(FilterType::Bilinear),
            ResizeFilter::Bicubic => ResizeAlg::Convolution(FilterType::CatmullRom),
            ResizeFilter::Area => ResizeAlg::Convolution(FilterType::Box),
            ResizeFilter::Lanczos => ResizeAlg::Convolution(FilterType::Lanczos3),
        };
        let options = ResizeOptions::new().resize_alg(alg);
        RESIZER
            .with(|r| r.borrow_mut().resize(&src, &mut dst, &options))
            .map_err(|e| format!("resize: {e}"))?;
        jpeg_turbo::recycle(src.into_vec());
        HwcImage::new(th, tw, c, dst.into_vec()).map_err(|e| e.to_string())
    }
}
