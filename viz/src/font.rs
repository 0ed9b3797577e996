//! The one typeface of every picture: DejaVu Sans (matplotlib's default), embedded in the
//! binary so pictures look the same on every machine, drawn anti-aliased through
//! `imageproc` and `ab_glyph`.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use image::{Rgb, RgbImage};

/// The family name under which the font is registered with `plotters`.
pub const FAMILY: &str = "sans-serif";

/// DejaVu Sans, parsed once.
#[allow(
    clippy::expect_used,
    reason = "the font is the `dejavu` crate's bundled TTF, which parses"
)]
pub fn sans() -> &'static FontRef<'static> {
    static FONT: OnceLock<FontRef<'static>> = OnceLock::new();
    FONT.get_or_init(|| {
        // The bytes are the `dejavu` crate's bundled TTF, so parsing them cannot fail.
        FontRef::try_from_slice(dejavu::sans::regular()).expect("the bundled DejaVu Sans parses")
    })
}

/// Registers the font with `plotters` as [`FAMILY`] (once; later calls do nothing).
pub fn register_with_plotters() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        // Same bundled bytes as `sans()`, which parse.
        let _ = plotters::style::register_font(
            FAMILY,
            plotters::style::FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

/// Width and height in pixels of `text` at `size` pixels (the line height, as in CSS).
pub fn text_size(text: &str, size: f32) -> (u32, u32) {
    if text.is_empty() {
        return (0, line_height(size));
    }
    let (w, h) = imageproc::drawing::text_size(PxScale::from(size), sans(), text);
    (w, h.max(line_height(size)))
}

/// Width in pixels of `text` at `size`.
pub fn text_width(text: &str, size: f32) -> u32 {
    text_size(text, size).0
}

/// Height of a line of text at `size` pixels.
pub fn line_height(size: f32) -> u32 {
    sans().as_scaled(PxScale::from(size)).height().ceil() as u32
}

/// Draws `text` anti-aliased with its top-left corner at (`x`, `y`).
pub fn draw_text(img: &mut RgbImage, x: i32, y: i32, size: f32, text: &str, color: [u8; 3]) {
    imageproc::drawing::draw_text_mut(img, Rgb(color), x, y, PxScale::from(size), sans(), text);
}

/// `text` cut so that it fits in `width` pixels at `size`, ending in an ellipsis when cut
/// (or empty when not even the ellipsis fits).
pub fn fit_text(text: &str, width: u32, size: f32) -> String {
    if text_width(text, size) <= width {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    for keep in (0..chars.len()).rev() {
        let mut cut: String = chars[..keep].iter().collect();
        cut.push('…');
        if text_width(&cut, size) <= width {
            return cut;
        }
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_font_is_proportional_and_anti_aliased() {
        // A proportional face: "i" is narrower than "W".
        assert!(text_width("iiii", 14.0) * 2 < text_width("WWWW", 14.0));
        let mut img = RgbImage::from_pixel(60, 24, Rgb([255, 255, 255]));
        draw_text(&mut img, 2, 2, 16.0, "Loss", [0, 0, 0]);
        let greys = img.pixels().filter(|p| p.0[0] > 0 && p.0[0] < 255).count();
        assert!(greys > 10, "anti-aliased edges are grey, found {greys}");
    }

    #[test]
    fn fitted_text_fits_and_says_it_was_cut() {
        assert_eq!(fit_text("true", 200, 11.0), "true");
        let cut = fit_text("a long caption that never fits", 60, 11.0);
        assert!(cut.ends_with('…') && text_width(&cut, 11.0) <= 60, "{cut}");
        assert_eq!(fit_text("abc", 1, 11.0), "");
    }
}
