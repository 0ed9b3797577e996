//! MNIST digits exported as image files in the Kaggle dogs-vs-cats layout, so the folder
//! workflows run offline on real data: `OUT/<name>.<index>.png`.

use std::path::Path;

use image::{imageops, GrayImage, Luma};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{Error, Mnist, Result};

/// Writes the first `per_class` training images of each `(digit, name)` as
/// `out/<name>.<i>.png` (gray PNGs); returns the number of files written. Files already
/// present are kept (the export is idempotent).
///
/// With `canvas > 28` each digit is scaled by a factor in `[1, canvas / 28 * 0.75]` and
/// placed at a random position of a `canvas x canvas` image over faint smooth noise (seeded
/// by the file index), so that, as in photos, the object's position and size vary: a
/// convnet trained on a few hundred such images overfits, and shift/zoom augmentation helps.
pub fn export_digits_flat(
    mnist: &Mnist,
    classes: &[(i64, &str)],
    per_class: usize,
    canvas: u32,
    out: &Path,
) -> Result<usize> {
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let digits: Vec<i64> = classes.iter().map(|&(d, _)| d).collect();
    let picks = mnist.first_train_indices(&digits, per_class, "MNIST export")?;
    let mut written = 0;
    for (&(_, name), picks) in classes.iter().zip(&picks) {
        for (k, &i) in picks.iter().enumerate() {
            let path = out.join(format!("{name}.{k}.png"));
            if path.exists() {
                continue;
            }
            let digit = mnist.train_digit(i)?;
            let gray = if canvas > 28 {
                place(
                    &digit,
                    canvas,
                    convkit_tensor::seed::derive(7, name, k as u64),
                )
            } else {
                digit
            };
            let tmp = path.with_extension("png.tmp");
            gray.save_with_format(&tmp, image::ImageFormat::Png)
                .map_err(|e| Error::Format {
                    path: tmp.clone(),
                    problem: e.to_string(),
                })?;
            std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
            written += 1;
        }
    }
    Ok(written)
}

/// The digit scaled and placed at random on a `canvas`-sized image with a faint background.
fn place(digit: &GrayImage, canvas: u32, seed: u64) -> GrayImage {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let max_scale = (canvas as f32 / 28.0 * 0.75).max(1.0);
    let side = (28.0 * rng.gen_range(1.0..=max_scale)).round() as u32;
    let scaled = imageops::resize(digit, side, side, imageops::FilterType::Triangle);
    let (fx, fy, phase) = (
        rng.gen_range(2.0..6.0f32),
        rng.gen_range(2.0..6.0f32),
        rng.gen_range(0.0..std::f32::consts::TAU),
    );
    let level = rng.gen_range(10.0..50.0f32);
    let mut out = GrayImage::from_fn(canvas, canvas, |x, y| {
        let u = x as f32 / canvas as f32;
        let v = y as f32 / canvas as f32;
        let b = level
            * (0.5
                + 0.5
                    * (fx * u * std::f32::consts::TAU + phase).sin()
                    * (fy * v * std::f32::consts::TAU).cos());
        Luma([b as u8])
    });
    let x0 = rng.gen_range(0..=canvas - side);
    let y0 = rng.gen_range(0..=canvas - side);
    for (x, y, p) in scaled.enumerate_pixels() {
        let o = out.get_pixel_mut(x0 + x, y0 + y);
        o.0[0] = o.0[0].max(p.0[0]);
    }
    out
}
