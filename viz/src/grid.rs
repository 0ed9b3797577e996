//! Image grids: many pictures of the same size tiled in rows and columns with a margin.

use image::RgbImage;

use crate::canvas::Canvas;
use crate::{Error, Result};

/// Tiles `images` (all the same size) into `cols` columns with `margin` pixels between them,
/// on a white background; an optional `caption` per image is written under it, cut to the
/// tile's width (ending in `.`) so it never runs into the next tile.
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
            c.text(x, y + i64::from(h) + 2, &fit_caption(text, w), 1, [0, 0, 0]);
        }
    }
    Ok(c.into_image())
}

/// `text` cut to at most `width` pixels of 8-pixel glyphs; a cut caption ends in `.` when
/// there is room for two glyphs or more.
fn fit_caption(text: &str, width: u32) -> String {
    let max_chars = (width / 8) as usize;
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    if max_chars <= 1 {
        return text.chars().take(max_chars).collect();
    }
    let mut cut: String = text.chars().take(max_chars - 1).collect();
    cut.push('.');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captions_are_cut_to_the_tile_width() {
        assert_eq!(fit_caption("true", 64), "true");
        assert_eq!(fit_caption("exactly8", 64), "exactly8");
        assert_eq!(fit_caption("predicted", 64), "predict.");
        assert_eq!(fit_caption("abc", 8), "a");
        assert_eq!(fit_caption("abc", 4), "");
        for width in [8u32, 20, 64, 100] {
            let fitted = fit_caption("a long caption that never fits", width);
            assert!(
                Canvas::text_width(&fitted, 1) <= i64::from(width),
                "{width}: {fitted}"
            );
        }
    }

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
