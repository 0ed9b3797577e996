//! [`RasterBackend`]: a `plotters` drawing backend over an [`image::RgbImage`] that draws as
//! matplotlib's Agg renderer does: anti-aliased lines (through `imageproc` for thin ones),
//! anti-aliased dots, and text in DejaVu Sans ([`crate::font`]).
//!
//! The same plot code then draws PNG through this backend and SVG through plotters'
//! `SVGBackend`.

use std::convert::Infallible;

use ab_glyph::PxScale;
use image::{GrayImage, Luma, Rgb, RgbImage};
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
};

use crate::font;

/// A `plotters` backend drawing on an RGB image.
#[derive(Debug)]
pub struct RasterBackend<'a> {
    img: &'a mut RgbImage,
}

type Drawn = Result<(), DrawingErrorKind<Infallible>>;

impl<'a> RasterBackend<'a> {
    /// A backend drawing on `img`.
    pub fn new(img: &'a mut RgbImage) -> Self {
        RasterBackend { img }
    }

    /// Blends `rgb` over pixel (`x`, `y`) with opacity `alpha` (ignored outside the image).
    fn blend(&mut self, x: i32, y: i32, rgb: (u8, u8, u8), alpha: f64) {
        let (w, h) = self.img.dimensions();
        if x < 0 || y < 0 || x as u32 >= w || y as u32 >= h || alpha <= 0.0 {
            return;
        }
        let a = alpha.min(1.0);
        let p = self.img.get_pixel_mut(x as u32, y as u32);
        for (c, new) in p.0.iter_mut().zip([rgb.0, rgb.1, rgb.2]) {
            *c = (f64::from(*c) * (1.0 - a) + f64::from(new) * a).round() as u8;
        }
    }

    /// A segment `width` pixels wide with round caps, anti-aliased by the distance of each
    /// pixel centre to the segment.
    fn thick_segment(&mut self, from: BackendCoord, to: BackendCoord, width: f64, c: BackendColor) {
        let (ax, ay) = (f64::from(from.0), f64::from(from.1));
        let (bx, by) = (f64::from(to.0), f64::from(to.1));
        let reach = width / 2.0 + 1.0;
        let (x0, x1) = (ax.min(bx) - reach, ax.max(bx) + reach);
        let (y0, y1) = (ay.min(by) - reach, ay.max(by) + reach);
        let (dx, dy) = (bx - ax, by - ay);
        let len2 = (dx * dx + dy * dy).max(1e-12);
        for y in y0.floor() as i32..=y1.ceil() as i32 {
            for x in x0.floor() as i32..=x1.ceil() as i32 {
                let (px, py) = (f64::from(x) - ax, f64::from(y) - ay);
                let t = ((px * dx + py * dy) / len2).clamp(0.0, 1.0);
                let d = ((px - t * dx).powi(2) + (py - t * dy).powi(2)).sqrt();
                let coverage = (width / 2.0 + 0.5 - d).clamp(0.0, 1.0);
                self.blend(x, y, c.rgb, coverage * c.alpha);
            }
        }
    }

    /// A disc (or a ring `stroke` wide) anti-aliased by the distance to its edge.
    fn disc(&mut self, center: BackendCoord, radius: f64, ring: Option<f64>, c: BackendColor) {
        let reach = radius.ceil() as i32 + 2;
        for y in center.1 - reach..=center.1 + reach {
            for x in center.0 - reach..=center.0 + reach {
                let d = f64::from(x - center.0).hypot(f64::from(y - center.1));
                let coverage = match ring {
                    None => radius + 0.5 - d,
                    Some(stroke) => stroke / 2.0 + 0.5 - (d - radius).abs(),
                };
                self.blend(x, y, c.rgb, coverage.clamp(0.0, 1.0) * c.alpha);
            }
        }
    }
}

impl DrawingBackend for RasterBackend<'_> {
    type ErrorType = Infallible;

    fn get_size(&self) -> (u32, u32) {
        self.img.dimensions()
    }

    fn ensure_prepared(&mut self) -> Drawn {
        Ok(())
    }

    fn present(&mut self) -> Drawn {
        Ok(())
    }

    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Drawn {
        self.blend(point.0, point.1, color.rgb, color.alpha);
        Ok(())
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Drawn {
        let c = style.color();
        let width = style.stroke_width().max(1);
        if width > 1 {
            self.thick_segment(from, to, f64::from(width), c);
        } else if from.0 == to.0 || from.1 == to.1 {
            // Axis-parallel hairlines (spines, ticks) stay crisp, as in matplotlib.
            for y in from.1.min(to.1)..=from.1.max(to.1) {
                for x in from.0.min(to.0)..=from.0.max(to.0) {
                    self.blend(x, y, c.rgb, c.alpha);
                }
            }
        } else {
            let ink = Rgb([c.rgb.0, c.rgb.1, c.rgb.2]);
            let alpha = c.alpha as f32;
            imageproc::drawing::draw_antialiased_line_segment_mut(
                self.img,
                from,
                to,
                ink,
                |line, under, weight| imageproc::pixelops::interpolate(line, under, weight * alpha),
            );
        }
        Ok(())
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Drawn {
        let c = style.color();
        if fill {
            for y in upper_left.1..=bottom_right.1 {
                for x in upper_left.0..=bottom_right.0 {
                    self.blend(x, y, c.rgb, c.alpha);
                }
            }
            return Ok(());
        }
        let (l, t, r, b) = (upper_left.0, upper_left.1, bottom_right.0, bottom_right.1);
        for (from, to) in [
            ((l, t), (r, t)),
            ((r, t), (r, b)),
            ((l, b), (r, b)),
            ((l, t), (l, b)),
        ] {
            self.draw_line(from, to, style)?;
        }
        Ok(())
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Drawn {
        let points: Vec<BackendCoord> = path.into_iter().collect();
        for pair in points.windows(2) {
            self.draw_line(pair[0], pair[1], style)?;
        }
        Ok(())
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Drawn {
        let ring = (!fill).then(|| f64::from(style.stroke_width().max(1)));
        self.disc(center, f64::from(radius), ring, style.color());
        Ok(())
    }

    fn draw_text<T: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &T,
        pos: BackendCoord,
    ) -> Drawn {
        let c = style.color();
        let size = style.size() as f32;
        let (w, h) = font::text_size(text, size);
        if w == 0 || c.alpha == 0.0 {
            return Ok(());
        }
        // Coverage of each pixel of the text, then placed by the anchor and the rotation
        // exactly as plotters' own text drawing places it.
        let mut mask = GrayImage::new(w, h);
        imageproc::drawing::draw_text_mut(
            &mut mask,
            Luma([255]),
            0,
            0,
            PxScale::from(size),
            font::sans(),
            text,
        );
        let (w, h) = (w as i32, h as i32);
        let dx = match style.anchor().h_pos {
            HPos::Left => 0,
            HPos::Right => -w,
            HPos::Center => -w / 2,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0,
            VPos::Center => -h / 2,
            VPos::Bottom => -h,
        };
        let turn = style.transform();
        for (mx, my, Luma([v])) in mask.enumerate_pixels() {
            if *v > 0 {
                let (x, y) = turn.transform(mx as i32 + dx, my as i32 + dy);
                self.blend(pos.0 + x, pos.1 + y, c.rgb, f64::from(*v) / 255.0 * c.alpha);
            }
        }
        Ok(())
    }

    fn estimate_text_size<T: BackendTextStyle>(
        &self,
        text: &str,
        style: &T,
    ) -> Result<(u32, u32), DrawingErrorKind<Infallible>> {
        Ok(font::text_size(text, style.size() as f32))
    }
}

#[cfg(test)]
mod tests {
    use super::{font, RasterBackend};
    use image::{Rgb, RgbImage};
    use plotters::prelude::*;

    #[test]
    fn lines_dots_and_text_are_anti_aliased() {
        let mut img = RgbImage::from_pixel(120, 60, Rgb([255, 255, 255]));
        {
            let root = RasterBackend::new(&mut img).into_drawing_area();
            let blue = RGBColor(31, 119, 180);
            root.draw(&PathElement::new(
                vec![(5, 5), (60, 40)],
                blue.stroke_width(2),
            ))
            .unwrap();
            root.draw(&Circle::new((90, 20), 4, blue.filled())).unwrap();
            font::register_with_plotters();
            root.draw(&Text::new(
                "Epochs",
                (10, 42),
                (font::FAMILY, 14).into_font(),
            ))
            .unwrap();
        }
        let full = img.pixels().filter(|p| p.0 == [31, 119, 180]).count();
        let partial = img
            .pixels()
            .filter(|p| p.0 != [31, 119, 180] && p.0 != [255, 255, 255])
            .count();
        assert!(full > 20, "solid ink: {full}");
        assert!(partial > 40, "anti-aliased edges: {partial}");
        // The disc is round: its centre is inked, its bounding square's corner is not.
        assert_eq!(img.get_pixel(90, 20).0, [31, 119, 180]);
        assert_eq!(img.get_pixel(86, 16).0, [255, 255, 255]);
    }
}
