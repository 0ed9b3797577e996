//! [`HwcImage`]: the u8, height x width x channels buffer every CPU transform works on.

use image::{DynamicImage, GrayImage, RgbImage};

use crate::{Error, Result};

/// An 8-bit image stored row by row, channels interleaved (`HWC`), 1 or more channels.
///
/// # Example
/// ```
/// use convkit_augment::HwcImage;
/// let img = HwcImage::filled(2, 3, 3, 7);
/// assert_eq!(img.pixel(1, 2), &[7, 7, 7]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HwcImage {
    height: usize,
    width: usize,
    channels: usize,
    data: Vec<u8>,
}

impl HwcImage {
    /// Wraps `data` (length `height * width * channels`).
    pub fn new(height: usize, width: usize, channels: usize, data: Vec<u8>) -> Result<Self> {
        let expected = height
            .checked_mul(width)
            .and_then(|n| n.checked_mul(channels));
        if expected != Some(data.len()) || channels == 0 {
            return Err(Error::BufferSize {
                height,
                width,
                channels,
                actual: data.len(),
            });
        }
        Ok(HwcImage {
            height,
            width,
            channels,
            data,
        })
    }

    /// An image with every byte set to `value`.
    pub fn filled(height: usize, width: usize, channels: usize, value: u8) -> Self {
        HwcImage {
            height,
            width,
            channels,
            data: vec![value; height * width * channels],
        }
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Number of channels (1 gray, 3 RGB...).
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// The bytes, row-major, channels interleaved.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The bytes, mutable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }

    /// Gives the bytes back.
    pub fn into_raw(self) -> Vec<u8> {
        self.data
    }

    /// Bytes of one row.
    pub fn row(&self, r: usize) -> &[u8] {
        let stride = self.width * self.channels;
        &self.data[r * stride..(r + 1) * stride]
    }

    /// The channel values of pixel (`r`, `c`).
    pub fn pixel(&self, r: usize, c: usize) -> &[u8] {
        let i = (r * self.width + c) * self.channels;
        &self.data[i..i + self.channels]
    }

    /// Same size and channels as `self`, every byte `value`.
    pub fn same_size(&self, value: u8) -> Self {
        Self::filled(self.height, self.width, self.channels, value)
    }

    /// From an RGB `image` buffer.
    pub fn from_rgb(img: RgbImage) -> Self {
        let (w, h) = img.dimensions();
        HwcImage {
            height: h as usize,
            width: w as usize,
            channels: 3,
            data: img.into_raw(),
        }
    }

    /// From a gray `image` buffer.
    pub fn from_gray(img: GrayImage) -> Self {
        let (w, h) = img.dimensions();
        HwcImage {
            height: h as usize,
            width: w as usize,
            channels: 1,
            data: img.into_raw(),
        }
    }

    /// To an `image` buffer (1 channel: gray, 3: RGB, 4: RGBA); `None` for other counts.
    pub fn to_dynamic(&self) -> Option<DynamicImage> {
        let (w, h) = (self.width as u32, self.height as u32);
        match self.channels {
            1 => GrayImage::from_raw(w, h, self.data.clone()).map(DynamicImage::ImageLuma8),
            3 => RgbImage::from_raw(w, h, self.data.clone()).map(DynamicImage::ImageRgb8),
            4 => image::RgbaImage::from_raw(w, h, self.data.clone()).map(DynamicImage::ImageRgba8),
            _ => None,
        }
    }
}
