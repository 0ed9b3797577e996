//! Image grids: many pictures of the same size tiled in rows and columns with a margin.

use image::RgbImage;

use crate::{font, Error, Result};

/// Size in pixels of caption text.
const CAPTION_SIZE: f32 = 11.0;

/// Tiles `images` (all the same size) into `cols` columns with `margin` pixels between them,
/// on a white background; an optional `caption` per image is written under it, cut to the
/// tile's width (ending in `…`) so it never runs into the next tile.
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
    let caption_h = if captions.is_empty() {
        0
    } else {
        font::line_height(CAPTION_SIZE) + 2
    };
    let cell_w = w + margin;
    let cell_h = h + margin + caption_h;
    let (width, height) = (cell_w as u64 * cols as u64, cell_h as u64 * rows as u64);
    if width + u64::from(margin) > u64::from(u32::MAX)
        || height + u64::from(margin) > u64::from(u32::MAX)
    {
        return Err(Error::Invalid(format!(
            "image_grid: a {cols}-column grid of {} {w}x{h} images is too large",
            images.len()
        )));
    }
    let mut grid = RgbImage::from_pixel(
        width as u32 + margin,
        height as u32 + margin,
        image::Rgb([255, 255, 255]),
    );
    for (i, img) in images.iter().enumerate() {
        let (r, k) = ((i / cols) as u32, (i % cols) as u32);
        let (x, y) = (margin + k * cell_w, margin + r * cell_h);
        image::imageops::replace(&mut grid, img, i64::from(x), i64::from(y));
        if let Some(text) = captions.get(i) {
            let fitted = font::fit_text(text, w, CAPTION_SIZE);
            font::draw_text(
                &mut grid,
                x as i32,
                (y + h + 1) as i32,
                CAPTION_SIZE,
                &fitted,
                [0, 0, 0],
            );
        }
    }
    Ok(grid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_caption_stays_inside_its_tile() {
        let tile = RgbImage::from_pixel(16, 16, image::Rgb([255, 255, 255]));
        let grid = image_grid(
            &[tile.clone(), tile],
            2,
            4,
            &["wwwwwwwwww".into(), String::new()],
        )
        .unwrap();
        // The second tile's column (x from 24) and the margin before it stay white under
        // the first tile's caption.
        for y in 20..grid.height() {
            for x in 20..grid.width() {
                assert_eq!(grid.get_pixel(x, y).0, [255, 255, 255], "ink at ({x}, {y})");
            }
        }
        // The first caption is drawn (some ink under the first tile).
        let ink = (20..grid.height())
            .flat_map(|y| (4..20).map(move |x| (x, y)))
            .any(|(x, y)| grid.get_pixel(x, y).0 != [255, 255, 255]);
        assert!(ink);
    }
}
