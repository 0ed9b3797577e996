//! Colormaps: matplotlib's `viridis` (the book's activation pictures) and `jet` (its Grad-CAM
//! heat maps), from values in `[0, 1]` or 8-bit levels to RGB.

use crate::colormap_tables::{JET, VIRIDIS};

/// A colormap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colormap {
    /// matplotlib's default perceptual map (dark purple -> teal -> yellow).
    Viridis,
    /// matplotlib's `jet` (blue -> cyan -> yellow -> red).
    Jet,
    /// Gray levels.
    Gray,
}

impl Colormap {
    /// The colour of `t` (clamped to `[0, 1]`; NaN maps to 0), as matplotlib maps a float:
    /// the level `floor(t * 256)` (255 for `t = 1`) of the 256-entry table.
    pub fn rgb(self, t: f32) -> [u8; 3] {
        let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
        self.rgb_u8(((t * 256.0) as u32).min(255) as u8)
    }

    /// The colour of the 8-bit level `v` (as matplotlib maps `uint8` images).
    pub fn rgb_u8(self, v: u8) -> [u8; 3] {
        match self {
            Colormap::Viridis => VIRIDIS[v as usize],
            Colormap::Jet => JET[v as usize],
            Colormap::Gray => [v, v, v],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_and_middle_match_matplotlib() {
        // matplotlib 3.11: (np.array(cm.viridis(x)[:3]) * 255).round() for x = 0, 0.5, 1.
        assert_eq!(Colormap::Viridis.rgb(0.0), [68, 1, 84]);
        assert_eq!(Colormap::Viridis.rgb(0.5), [33, 145, 140]);
        assert_eq!(Colormap::Viridis.rgb(1.0), [253, 231, 37]);
        assert_eq!(Colormap::Jet.rgb(0.0), [0, 0, 128]);
        assert_eq!(Colormap::Jet.rgb(1.0), [128, 0, 0]);
        assert_eq!(Colormap::Gray.rgb(f32::NAN), [0, 0, 0]);
    }
}
