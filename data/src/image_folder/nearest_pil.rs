//! PIL's `Image.resize(..., NEAREST)`, pixel for pixel: the source pixel of output column `x`
//! is `floor(x0)` where `x0` starts at half a step and grows by `in / out` per column in
//! double precision (`ImagingScaleAffine`), so ties fall where PIL's accumulated sum puts
//! them. Keras' `load_img` and `flow_from_directory` resize this way by default.

use convkit_augment::HwcImage;

/// Source indices of the `out` positions along one axis of length `len`.
fn source_indices(len: usize, out: usize) -> Vec<usize> {
    let step = len as f64 / out as f64;
    let mut at = step * 0.5;
    let mut indices = Vec::with_capacity(out);
    for _ in 0..out {
        // PIL's COORD(): truncation of a non-negative double; positions past the edge (never
        // reached for a plain resize) are clamped instead of filled with black
        indices.push((at as usize).min(len - 1));
        at += step;
    }
    indices
}

/// Resizes `img` to `(height, width)` with PIL's nearest-neighbour rule.
///
/// # Errors
/// An empty image or target.
pub(crate) fn resize_nearest(
    img: &HwcImage,
    (height, width): (usize, usize),
) -> Result<HwcImage, String> {
    let (h, w, c) = (img.height(), img.width(), img.channels());
    if h == 0 || w == 0 || height == 0 || width == 0 {
        return Err(format!("cannot resize {w}x{h} to {width}x{height}"));
    }
    let xs = source_indices(w, width);
    let ys = source_indices(h, height);
    let mut out = vec![0u8; height * width * c];
    match c {
        1 => gather::<1>(img.data(), w, &xs, &ys, &mut out),
        3 => gather::<3>(img.data(), w, &xs, &ys, &mut out),
        4 => gather::<4>(img.data(), w, &xs, &ys, &mut out),
        _ => return Err(format!("cannot resize an image with {c} channels")),
    }
    HwcImage::new(height, width, c, out).map_err(|e| e.to_string())
}

/// Copies pixel `(ys[i], xs[j])` of the `w`-wide source to `(i, j)` of `out` (`C` channels
/// known at compile time, so each copy is a fixed-size move).
fn gather<const C: usize>(src: &[u8], w: usize, xs: &[usize], ys: &[usize], out: &mut [u8]) {
    for (out_row, &y) in out.chunks_exact_mut(xs.len() * C).zip(ys) {
        let row = &src[y * w * C..(y + 1) * w * C];
        for (px, &x) in out_row.chunks_exact_mut(C).zip(xs) {
            px.copy_from_slice(&row[x * C..x * C + C]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_follow_pils_accumulated_steps() {
        // 4 -> 2: centres at 1.0 and 3.0
        assert_eq!(source_indices(4, 2), [1, 3]);
        // upscaling 2 -> 4: 0.25, 0.75, 1.25, 1.75
        assert_eq!(source_indices(2, 4), [0, 0, 1, 1]);
        assert_eq!(source_indices(5, 5), [0, 1, 2, 3, 4]);
    }
}
