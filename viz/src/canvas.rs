//! [`Canvas`]: an RGB image with the few drawing primitives plots need (lines, rectangles,
//! dots, 8x8 bitmap text), so pictures render the same everywhere without system fonts.

use image::{Rgb, RgbImage};

/// An RGB drawing surface.
#[derive(Debug, Clone)]
pub struct Canvas {
    img: RgbImage,
}

/// A colour.
pub type Color = [u8; 3];

/// Matplotlib's first colours (`C0` blue, `C1` orange, `C2` green, `C3` red).
pub const PALETTE: [Color; 4] = [[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40]];

impl Canvas {
    /// A `width x height` canvas filled with `background`.
    pub fn new(width: u32, height: u32, background: Color) -> Self {
        Canvas {
            img: RgbImage::from_pixel(width, height, Rgb(background)),
        }
    }

    /// The picture.
    pub fn into_image(self) -> RgbImage {
        self.img
    }

    /// The picture, borrowed.
    pub fn image(&self) -> &RgbImage {
        &self.img
    }

    /// Sets one pixel (ignored outside the canvas).
    pub fn put(&mut self, x: i64, y: i64, color: Color) {
        if x >= 0 && y >= 0 && (x as u32) < self.img.width() && (y as u32) < self.img.height() {
            self.img.put_pixel(x as u32, y as u32, Rgb(color));
        }
    }

    /// A filled rectangle.
    pub fn fill_rect(&mut self, x: i64, y: i64, w: i64, h: i64, color: Color) {
        for yy in y..y + h {
            for xx in x..x + w {
                self.put(xx, yy, color);
            }
        }
    }

    /// A line `width` pixels thick (Bresenham, thickened with a square brush).
    pub fn line(&mut self, (x0, y0): (f64, f64), (x1, y1): (f64, f64), width: i64, color: Color) {
        let (mut x, mut y) = (x0.round() as i64, y0.round() as i64);
        let (xe, ye) = (x1.round() as i64, y1.round() as i64);
        let (dx, dy) = ((xe - x).abs(), -(ye - y).abs());
        let (sx, sy) = (if x < xe { 1 } else { -1 }, if y < ye { 1 } else { -1 });
        let mut err = dx + dy;
        let half = width / 2;
        loop {
            self.fill_rect(x - half, y - half, width.max(1), width.max(1), color);
            if x == xe && y == ye {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    /// A filled disc of radius `r`.
    pub fn dot(&mut self, (cx, cy): (f64, f64), r: i64, color: Color) {
        let (cx, cy) = (cx.round() as i64, cy.round() as i64);
        for dy in -r..=r {
            for dx in -r..=r {
                if dx * dx + dy * dy <= r * r {
                    self.put(cx + dx, cy + dy, color);
                }
            }
        }
    }

    /// Writes ASCII `text` with its top-left corner at (`x`, `y`), each glyph 8x8 pixels
    /// times `scale`; returns the width drawn.
    pub fn text(&mut self, x: i64, y: i64, text: &str, scale: i64, color: Color) -> i64 {
        let mut pen = x;
        for ch in text.chars() {
            let code = if ch.is_ascii() {
                ch as usize
            } else {
                b'?' as usize
            };
            let glyph = font8x8::legacy::BASIC_LEGACY[code];
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..8 {
                    if bits & (1 << col) != 0 {
                        self.fill_rect(
                            pen + col * scale,
                            y + row as i64 * scale,
                            scale,
                            scale,
                            color,
                        );
                    }
                }
            }
            pen += 8 * scale;
        }
        pen - x
    }

    /// Width in pixels of `text` at `scale`.
    pub fn text_width(text: &str, scale: i64) -> i64 {
        text.chars().count() as i64 * 8 * scale
    }

    /// Copies `img` with its top-left corner at (`x`, `y`).
    pub fn blit(&mut self, x: i64, y: i64, img: &RgbImage) {
        for (ix, iy, p) in img.enumerate_pixels() {
            self.put(x + i64::from(ix), y + i64::from(iy), p.0);
        }
    }
}
