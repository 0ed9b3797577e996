//! [`Svg`]: the same drawing primitives as [`crate::Canvas`], written as an SVG document, so
//! every plot can be saved as a vector picture; and [`Draw`], the trait both implement.

use std::fmt::Write as _;

use crate::canvas::{Canvas, Color};

/// Drawing primitives shared by the raster [`Canvas`] and the vector [`Svg`].
pub trait Draw {
    /// A line of `width` pixels.
    fn line(&mut self, from: (f64, f64), to: (f64, f64), width: i64, color: Color);
    /// A filled disc of radius `r`.
    fn dot(&mut self, center: (f64, f64), r: i64, color: Color);
    /// A filled rectangle.
    fn fill_rect(&mut self, x: i64, y: i64, w: i64, h: i64, color: Color);
    /// Text with its top-left corner at (`x`, `y`), glyphs 8 pixels times `scale`.
    fn text(&mut self, x: i64, y: i64, text: &str, scale: i64, color: Color) -> i64;
}

impl Draw for Canvas {
    fn line(&mut self, from: (f64, f64), to: (f64, f64), width: i64, color: Color) {
        Canvas::line(self, from, to, width, color)
    }
    fn dot(&mut self, center: (f64, f64), r: i64, color: Color) {
        Canvas::dot(self, center, r, color)
    }
    fn fill_rect(&mut self, x: i64, y: i64, w: i64, h: i64, color: Color) {
        Canvas::fill_rect(self, x, y, w, h, color)
    }
    fn text(&mut self, x: i64, y: i64, text: &str, scale: i64, color: Color) -> i64 {
        Canvas::text(self, x, y, text, scale, color)
    }
}

/// An SVG document being drawn.
#[derive(Debug, Clone)]
pub struct Svg {
    width: u32,
    height: u32,
    body: String,
}

fn rgb(c: Color) -> String {
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl Svg {
    /// A `width x height` document with a `background`.
    pub fn new(width: u32, height: u32, background: Color) -> Self {
        let mut s = Svg {
            width,
            height,
            body: String::new(),
        };
        s.fill_rect(0, 0, i64::from(width), i64::from(height), background);
        s
    }

    /// The SVG text.
    pub fn finish(&self) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\n{}</svg>\n",
            self.body,
            w = self.width,
            h = self.height
        )
    }
}

impl Draw for Svg {
    fn line(&mut self, from: (f64, f64), to: (f64, f64), width: i64, color: Color) {
        let _ = writeln!(
            self.body,
            "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"{}\" stroke-width=\"{width}\"/>",
            from.0,
            from.1,
            to.0,
            to.1,
            rgb(color)
        );
    }
    fn dot(&mut self, center: (f64, f64), r: i64, color: Color) {
        let _ = writeln!(
            self.body,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{r}\" fill=\"{}\"/>",
            center.0,
            center.1,
            rgb(color)
        );
    }
    fn fill_rect(&mut self, x: i64, y: i64, w: i64, h: i64, color: Color) {
        let _ = writeln!(
            self.body,
            "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" fill=\"{}\"/>",
            rgb(color)
        );
    }
    fn text(&mut self, x: i64, y: i64, text: &str, scale: i64, color: Color) -> i64 {
        let size = 8 * scale;
        let _ = writeln!(
            self.body,
            "<text x=\"{x}\" y=\"{}\" font-family=\"monospace\" font-size=\"{size}\" textLength=\"{}\" fill=\"{}\">{}</text>",
            y + size - scale,
            Canvas::text_width(text, scale),
            rgb(color),
            escape(text)
        );
        Canvas::text_width(text, scale)
    }
}
