//! How points outside the input are filled, with `scipy.ndimage`'s rules (what Keras'
//! `ImageDataGenerator` calls).

use serde::{Deserialize, Serialize};

/// Boundary rule for geometric transforms.
///
/// With `n` samples along an axis (scipy's `mode`):
/// - `Nearest`: `a a a | a b c d | d d d`
/// - `Constant(k)`: `k k k | a b c d | k k k` (no interpolation beyond the edges)
/// - `Reflect`: `d c b a | a b c d | d c b a` (half-sample symmetric)
/// - `Wrap`: `a b c d | a b c d` with the first and last sample overlapping (period `n - 1`,
///   scipy's legacy `wrap`)
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FillMode {
    /// Repeat the edge pixel (Keras' default).
    Nearest,
    /// Fill with a constant value (Keras' `cval`).
    Constant(f32),
    /// Mirror about the edge.
    Reflect,
    /// Tile the image.
    Wrap,
}

impl FillMode {
    /// Parses Keras' names (`nearest`, `constant`, `reflect`, `wrap`) with `cval` for constant.
    pub fn from_keras(name: &str, cval: f32) -> Option<FillMode> {
        match name {
            "nearest" => Some(FillMode::Nearest),
            "constant" => Some(FillMode::Constant(cval)),
            "reflect" => Some(FillMode::Reflect),
            "wrap" => Some(FillMode::Wrap),
            _ => None,
        }
    }

    /// Maps a coordinate `x` on an axis of `len` samples into `[0, len - 1]` (or `None`: use
    /// the constant), following scipy's `map_coordinate`.
    #[inline]
    pub fn map_coordinate(self, mut x: f32, len: usize) -> Option<f32> {
        let last = (len - 1) as f32;
        if x >= 0.0 && x <= last {
            return Some(x);
        }
        if len <= 1 {
            return match self {
                FillMode::Constant(_) => None,
                _ => Some(0.0),
            };
        }
        match self {
            FillMode::Nearest => Some(x.clamp(0.0, last)),
            FillMode::Constant(_) => None,
            FillMode::Reflect => {
                let sz2 = 2.0 * len as f32;
                if x < 0.0 {
                    if x < -sz2 {
                        x += sz2 * (-x / sz2).trunc();
                    }
                    x = if x < -(len as f32) { x + sz2 } else { -x - 1.0 };
                } else {
                    x -= sz2 * (x / sz2).trunc();
                    if x >= len as f32 {
                        x = sz2 - x - 1.0;
                    }
                }
                Some(x)
            }
            FillMode::Wrap => {
                let sz = last;
                if x < 0.0 {
                    x += sz * ((-x / sz).trunc() + 1.0);
                } else {
                    x -= sz * (x / sz).trunc();
                }
                Some(x)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FillMode;

    #[test]
    fn maps_like_scipy() {
        // n = 4: reflect d c b a | a b c d | d c b a
        assert_eq!(FillMode::Reflect.map_coordinate(-1.0, 4), Some(0.0));
        assert_eq!(FillMode::Reflect.map_coordinate(-2.0, 4), Some(1.0));
        assert_eq!(FillMode::Reflect.map_coordinate(4.0, 4), Some(3.0));
        assert_eq!(FillMode::Reflect.map_coordinate(5.0, 4), Some(2.0));
        assert_eq!(FillMode::Nearest.map_coordinate(-7.5, 4), Some(0.0));
        assert_eq!(FillMode::Nearest.map_coordinate(9.0, 4), Some(3.0));
        // wrap has period n - 1 = 3
        assert_eq!(FillMode::Wrap.map_coordinate(4.0, 4), Some(1.0));
        assert_eq!(FillMode::Wrap.map_coordinate(-1.0, 4), Some(2.0));
        assert_eq!(FillMode::Constant(0.0).map_coordinate(-0.5, 4), None);
        assert_eq!(FillMode::Constant(0.0).map_coordinate(2.5, 4), Some(2.5));
    }
}
