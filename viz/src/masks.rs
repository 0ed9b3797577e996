//! Segmentation masks as colour pictures: one colour per class.

use convkit_tensor::tch::{Device, Kind, Tensor};
use image::RgbImage;

use crate::{Error, Result};

/// Colours of the Oxford-IIIT Pet trimap classes after the shift to 0..2: object (orange),
/// background (dark blue), border (yellow); further classes cycle through the rest.
pub const PALETTE: [[u8; 3]; 8] = [
    [230, 120, 30],
    [25, 40, 90],
    [250, 230, 80],
    [60, 170, 90],
    [200, 60, 160],
    [90, 200, 230],
    [150, 150, 150],
    [240, 240, 240],
];

/// A mask of class indices `(h, w)` (any integer or float kind) as an RGB picture.
pub fn colour_mask(classes: &Tensor) -> Result<RgbImage> {
    let size = classes.size();
    if size.len() != 2 {
        return Err(Error::Invalid(format!(
            "a mask is (height, width) class indices, got {size:?}"
        )));
    }
    let (h, w) = (size[0] as u32, size[1] as u32);
    let v: Vec<i64> = Vec::<i64>::try_from(
        &classes
            .f_to_device(Device::Cpu)?
            .f_to_kind(Kind::Int64)?
            .f_flatten(0, -1)?,
    )?;
    Ok(RgbImage::from_fn(w, h, |x, y| {
        let c = v[(y * w + x) as usize].rem_euclid(PALETTE.len() as i64) as usize;
        image::Rgb(PALETTE[c])
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_get_their_colours() {
        let m = Tensor::from_slice(&[0i64, 1, 2, 1, 0, 2]).view([2, 3]);
        let img = colour_mask(&m).unwrap();
        assert_eq!(img.dimensions(), (3, 2));
        assert_eq!(img.get_pixel(0, 0).0, PALETTE[0]);
        assert_eq!(img.get_pixel(1, 0).0, PALETTE[1]);
        assert_eq!(img.get_pixel(2, 1).0, PALETTE[2]);
        assert!(colour_mask(&Tensor::from_slice(&[1i64])).is_err());
    }
}
