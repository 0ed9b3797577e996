//! MNIST digits exported as image files in the Kaggle dogs-vs-cats layout, so the folder
//! workflows run offline on real data: `OUT/<name>.<index>.png`.

use std::path::Path;

use convkit_tensor::tch::Kind;
use image::GrayImage;

use crate::{Error, Mnist, Result};

/// Writes the first `per_class` training images of each `(digit, name)` as
/// `out/<name>.<i>.png` (28x28 gray PNGs); returns the number of files written. Files already
/// present are kept (the export is idempotent).
pub fn export_digits_flat(
    mnist: &Mnist,
    classes: &[(i64, &str)],
    per_class: usize,
    out: &Path,
) -> Result<usize> {
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let labels: Vec<i64> = Vec::<i64>::try_from(mnist.train_labels.f_to_kind(Kind::Int64)?)?;
    let mut written = 0;
    for &(digit, name) in classes {
        let picks: Vec<usize> = labels
            .iter()
            .enumerate()
            .filter(|(_, &l)| l == digit)
            .map(|(i, _)| i)
            .take(per_class)
            .collect();
        if picks.len() < per_class {
            return Err(Error::option(
                "MNIST export",
                "per_class",
                format!(
                    "digit {digit} has only {} training images, {per_class} asked",
                    picks.len()
                ),
            ));
        }
        for (k, &i) in picks.iter().enumerate() {
            let path = out.join(format!("{name}.{k}.png"));
            if path.exists() {
                continue;
            }
            let img = mnist
                .train_images
                .f_get(i as i64)?
                .f_to_kind(Kind::Uint8)?
                .f_flatten(0, -1)?;
            let bytes: Vec<u8> = Vec::<u8>::try_from(&img)?;
            let gray = GrayImage::from_raw(28, 28, bytes).ok_or_else(|| Error::Format {
                path: path.clone(),
                problem: "MNIST image is not 28x28".into(),
            })?;
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
