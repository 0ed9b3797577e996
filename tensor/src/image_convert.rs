//! Conversions between `image` buffers (u8, HWC) and float NCHW tensors.
//!
//! Values are kept as they are (0..=255 as floats); scaling (`/ 255`, `(x - 127) / 128`...) is
//! the model's preprocessing, as in Keras.

use image::{DynamicImage, GrayImage, RgbImage};
use tch::{Kind, Tensor};

use crate::{Error, Result};

/// An RGB image as a float tensor of shape `(3, H, W)` with values in 0..=255.
///
/// # Shapes
/// `(H, W, 3)` u8 buffer -> `(3, H, W)` f32.
pub fn rgb_to_chw(img: &RgbImage) -> Result<Tensor> {
    let (w, h) = img.dimensions();
    let t = Tensor::f_from_slice(img.as_raw())?
        .f_view([h as i64, w as i64, 3])?
        .f_permute([2, 0, 1])?
        .f_to_kind(Kind::Float)?;
    Ok(t)
}

/// A gray image as a float tensor of shape `(1, H, W)` with values in 0..=255.
pub fn gray_to_chw(img: &GrayImage) -> Result<Tensor> {
    let (w, h) = img.dimensions();
    Ok(Tensor::f_from_slice(img.as_raw())?
        .f_view([1, h as i64, w as i64])?
        .f_to_kind(Kind::Float)?)
}

/// Any image as `(C, H, W)` float, with `channels` 1 (grayscale) or 3 (RGB).
pub fn image_to_chw(img: &DynamicImage, channels: usize) -> Result<Tensor> {
    match channels {
        1 => gray_to_chw(&img.to_luma8()),
        3 => rgb_to_chw(&img.to_rgb8()),
        c => Err(Error::Invalid(format!(
            "image_to_chw: channels must be 1 or 3, got {c}"
        ))),
    }
}

/// Stacks images of equal size into one `(N, C, H, W)` float batch.
pub fn images_to_nchw(images: &[DynamicImage], channels: usize) -> Result<Tensor> {
    if images.is_empty() {
        return Err(Error::Invalid("images_to_nchw: no image given".into()));
    }
    let first = (images[0].width(), images[0].height());
    let mut parts = Vec::with_capacity(images.len());
    for (i, img) in images.iter().enumerate() {
        if (img.width(), img.height()) != first {
            return Err(Error::Invalid(format!(
                "images_to_nchw: image {i} is {}x{}, expected {}x{} like the first",
                img.width(),
                img.height(),
                first.0,
                first.1
            )));
        }
        parts.push(image_to_chw(img, channels)?);
    }
    Ok(Tensor::f_stack(&parts, 0)?)
}

/// A `(C, H, W)` or `(1, C, H, W)` tensor (values in 0..=255, clamped and rounded) back to an
/// image: 1 channel gives a gray image, 3 channels an RGB image.
pub fn chw_to_image(t: &Tensor) -> Result<DynamicImage> {
    let t = match t.dim() {
        4 if t.size()[0] == 1 => t.f_squeeze_dim(0)?,
        3 => t.shallow_clone(),
        _ => {
            return Err(Error::Shape {
                what: "chw_to_image".into(),
                expected: "(C, H, W) or (1, C, H, W)".into(),
                actual: t.size(),
            })
        }
    };
    let size = t.size();
    let (c, h, w) = (size[0], size[1] as u32, size[2] as u32);
    let bytes = t
        .f_to_device(tch::Device::Cpu)?
        .f_clamp(0.0, 255.0)?
        .f_round()?
        .f_to_kind(Kind::Uint8)?
        .f_permute([1, 2, 0])?
        .f_contiguous()?;
    let data = Vec::<u8>::try_from(bytes.f_view([-1])?)?;
    let bad = || Error::Invalid("chw_to_image: buffer size mismatch".into());
    match c {
        1 => Ok(DynamicImage::ImageLuma8(
            GrayImage::from_raw(w, h, data).ok_or_else(bad)?,
        )),
        3 => Ok(DynamicImage::ImageRgb8(
            RgbImage::from_raw(w, h, data).ok_or_else(bad)?,
        )),
        _ => Err(Error::Shape {
            what: "chw_to_image".into(),
            expected: "1 or 3 channels".into(),
            actual: size,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rgb_round_trip_keeps_every_pixel() {
        let img = RgbImage::from_fn(5, 3, |x, y| image::Rgb([x as u8 * 10, y as u8 * 20, 7]));
        let t = rgb_to_chw(&img).unwrap();
        assert_eq!(t.size(), vec![3, 3, 5]);
        // channel 0 at (y=1, x=4) is the red value 40.
        assert_eq!(t.double_value(&[0, 1, 4]), 40.0);
        assert_eq!(t.double_value(&[1, 2, 0]), 40.0);
        let back = chw_to_image(&t).unwrap().to_rgb8();
        assert_eq!(back, img);
    }

    #[test]
    fn batches_need_equal_sizes() {
        let a = DynamicImage::ImageRgb8(RgbImage::new(4, 4));
        let b = DynamicImage::ImageRgb8(RgbImage::new(5, 4));
        assert_eq!(
            images_to_nchw(&[a.clone(), a.clone()], 1).unwrap().size(),
            vec![2, 1, 4, 4]
        );
        assert!(images_to_nchw(&[a, b], 3)
            .unwrap_err()
            .to_string()
            .contains("image 1 is 5x4"));
    }
}
