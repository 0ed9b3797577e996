//! Image grids: many pictures of the same size tiled in rows and columns with a margin.

use image::RgbImage;

use crate::canvas::Canvas;
use crate::{Error, Result};

/// Tiles `images` (all the same size) into `cols` columns with `margin` pixels between them,
/// on a white background; an optional `caption` per image is written under it.
pub fn image_grid(
    images: &[RgbImage],
    cols: usize,
    margin: u32,
    captions: &[String],
) -> Result<RgbImage> {
    let first = images
        .first()
        .ok_or_else(|| Error::Invalid("image_grid: no image".into()))?;
    let (w, h) = first.dimensions();
    if let Some((i, img)) = images
        .iter()
        .enumerate()
        .find(|(_, im)| im.dimensions() != (w, h))
    {
        return Err(Error::Invalid(format!(
            "image_grid: image {i} is {}x{}, expected {w}x{h} like the first",
            img.width(),
            img.height()
        )));
    }
    let cols = cols.clamp(1, images.len());
    let rows = images.len().div_ceil(cols);
    let caption_h = if captions.is_empty() { 0 } else { 12 };
    let cell_w = i64::from(w + margin);
    let cell_h = i64::from(h + margin) + caption_h;
    let mut c = Canvas::new(
        (cell_w * cols as i64 + i64::from(margin)) as u32,
        (cell_h * rows as i64 + i64::from(margin)) as u32,
        [255, 255, 255],
    );
    for (i, img) in images.iter().enumerate() {
        let (r, k) = ((i / cols) as i64, (i % cols) as i64);
        let (x, y) = (
            i64::from(margin) + k * cell_w,
            i64::from(margin) + r * cell_h,
        );
        c.blit(x, y, img);
        if let Some(text) = captions.get(i) {
            c.text(x, y + i64::from(h) + 2, text, 1, [0, 0, 0]);
        }
    }
    Ok(c.into_image())
}
