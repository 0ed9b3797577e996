//! Median filter over a square window (OpenCV's `medianBlur`, replicated border).

use crate::HwcImage;

/// Replaces every value by the median of its `ksize x ksize` neighbourhood in the same
/// channel (`ksize` odd; even sizes are rounded up, 1 returns the image).
pub fn median_blur(image: &HwcImage, ksize: usize) -> HwcImage {
    let k = ksize | 1;
    if k <= 1 || image.width() == 0 || image.height() == 0 {
        return image.clone();
    }
    let r = (k / 2) as isize;
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let mut out = image.same_size(0);
    let mut window = Vec::with_capacity(k * k);
    let clamp = |v: isize, n: usize| v.clamp(0, n as isize - 1) as usize;
    for y in 0..h {
        for x in 0..w {
            for ch in 0..c {
                window.clear();
                for dy in -r..=r {
                    let yy = clamp(y as isize + dy, h);
                    for dx in -r..=r {
                        let xx = clamp(x as isize + dx, w);
                        window.push(image.data()[(yy * w + xx) * c + ch]);
                    }
                }
                let mid = window.len() / 2;
                let (_, m, _) = window.select_nth_unstable(mid);
                out.data_mut()[(y * w + x) * c + ch] = *m;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_salt_noise() {
        let mut img = HwcImage::filled(5, 5, 1, 10);
        img.data_mut()[12] = 255;
        let out = median_blur(&img, 3);
        assert!(out.data().iter().all(|&v| v == 10));
    }
}
