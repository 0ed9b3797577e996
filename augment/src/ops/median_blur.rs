//! Median filter over a square window (OpenCV's `medianBlur`, replicated border), through
//! `imageproc`'s sliding-histogram median.

use image::{GrayImage, ImageBuffer, Luma, Pixel, Rgb, Rgba};

use crate::HwcImage;

/// Replaces every value by the median of its `ksize x ksize` neighbourhood in the same
/// channel (`ksize` odd; even sizes are rounded up, 1 returns the image).
///
/// `imageproc::filter::median_filter` pads by continuity, as OpenCV's replicated border does,
/// and takes O(ksize) per pixel where sorting each window took O(ksize²).
pub fn median_blur(image: &HwcImage, ksize: usize) -> HwcImage {
    let k = ksize | 1;
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let (Ok(w32), Ok(h32), Ok(radius)) = (u32::try_from(w), u32::try_from(h), u32::try_from(k / 2))
    else {
        // An image or window this large cannot be in memory; nothing to filter.
        return image.clone();
    };
    if k <= 1 || w == 0 || h == 0 {
        return image.clone();
    }
    let filtered = match c {
        1 => filter_as::<Luma<u8>>(image, w32, h32, radius),
        3 => filter_as::<Rgb<u8>>(image, w32, h32, radius),
        4 => filter_as::<Rgba<u8>>(image, w32, h32, radius),
        _ => None,
    };
    // The filtered buffer has the input's size and channel count, so it wraps; were it not
    // to, the per-channel path below still gives the answer.
    if let Some(Ok(filtered)) = filtered.map(|data| HwcImage::new(h, w, c, data)) {
        return filtered;
    }
    let mut out = image.same_size(0);
    for ch in 0..c {
        let plane: Vec<u8> = image.data().iter().skip(ch).step_by(c).copied().collect();
        let Some(plane) = GrayImage::from_raw(w32, h32, plane) else {
            return image.clone();
        };
        let filtered = imageproc::filter::median_filter(&plane, radius, radius);
        for (dst, src) in out
            .data_mut()
            .iter_mut()
            .skip(ch)
            .step_by(c)
            .zip(filtered.as_raw())
        {
            *dst = *src;
        }
    }
    out
}

/// The median of `image` viewed as an image of pixel type `P` (its channel count).
fn filter_as<P: Pixel<Subpixel = u8>>(
    image: &HwcImage,
    w: u32,
    h: u32,
    radius: u32,
) -> Option<Vec<u8>> {
    let view = ImageBuffer::<P, Vec<u8>>::from_raw(w, h, image.data().to_vec())?;
    Some(imageproc::filter::median_filter(&view, radius, radius).into_raw())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// The median of each window by selection (the kernel `median_blur` was before `imageproc`).
    fn sorted_window_median(image: &HwcImage, k: usize) -> HwcImage {
        let r = (k / 2) as isize;
        let (h, w, c) = (image.height(), image.width(), image.channels());
        let mut out = image.same_size(0);
        let clamp = |v: isize, n: usize| v.clamp(0, n as isize - 1) as usize;
        for y in 0..h {
            for x in 0..w {
                for ch in 0..c {
                    let mut window = Vec::with_capacity(k * k);
                    for dy in -r..=r {
                        for dx in -r..=r {
                            let (yy, xx) = (clamp(y as isize + dy, h), clamp(x as isize + dx, w));
                            window.push(image.data()[(yy * w + xx) * c + ch]);
                        }
                    }
                    let mid = window.len() / 2;
                    out.data_mut()[(y * w + x) * c + ch] = *window.select_nth_unstable(mid).1;
                }
            }
        }
        out
    }

    #[test]
    fn removes_salt_noise() {
        let mut img = HwcImage::filled(5, 5, 1, 10);
        img.data_mut()[12] = 255;
        let out = median_blur(&img, 3);
        assert!(out.data().iter().all(|&v| v == 10));
    }

    #[test]
    fn equals_the_sorted_window_median_with_a_replicated_border() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for (h, w, c, k) in [(9, 13, 3, 5), (4, 3, 1, 7), (6, 6, 4, 3), (1, 8, 2, 5)] {
            let data: Vec<u8> = (0..h * w * c).map(|_| rng.gen()).collect();
            let img = HwcImage::new(h, w, c, data).unwrap();
            assert_eq!(
                median_blur(&img, k).data(),
                sorted_window_median(&img, k).data(),
                "{h}x{w}x{c}, k={k}"
            );
        }
    }
}
