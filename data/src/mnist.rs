//! MNIST: 60,000 training and 10,000 test digits of 28x28 gray pixels.
//!
//! The four canonical IDX files (raw or `.gz`) are looked for in a directory. Their MD5
//! digests are published ([`CANONICAL_MD5`]); [`Mnist::verify`] checks them.

use std::path::{Path, PathBuf};

pub use convkit_tensor::fingerprint::md5_hex;
use convkit_tensor::tch::{Kind, Tensor};

use crate::idx::{read_maybe_gz, read_u8_tensor};
use crate::{Error, Result};

/// The four files, in the order train images, train labels, test images, test labels.
pub const FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// MD5 of the uncompressed canonical files.
pub const CANONICAL_MD5: [(&str, &str); 4] = [
    (
        "train-images-idx3-ubyte",
        "6bbc9ace898e44ae57da46a324031adb",
    ),
    (
        "train-labels-idx1-ubyte",
        "a25bea736e30d166cdddb491f175f624",
    ),
    ("t10k-images-idx3-ubyte", "2646ac647ad5339dbf082846283269ea"),
    ("t10k-labels-idx1-ubyte", "27ae3e4e09519cfbb04c329615203637"),
];

/// Mirrors serving `<file>.gz`, tried in order.
pub const MIRRORS: [&str; 3] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist",
    "https://storage.googleapis.com/cvdf-datasets/mnist",
    "http://yann.lecun.com/exdb/mnist",
];

/// How to get MNIST, for error messages.
pub const HINT: &str = "Run `scripts/run mnist` (it fetches MNIST), or `convkit fetch mnist --data-dir DIR` with internet access, \
or place the four IDX files (raw or .gz) from https://ossci-datasets.s3.amazonaws.com/mnist/ there";

/// MNIST in memory, as stored: u8 images `(N, 1, 28, 28)` and i64 labels `(N,)`.
#[derive(Debug)]
pub struct Mnist {
    /// Training images.
    pub train_images: Tensor,
    /// Training labels 0..=9.
    pub train_labels: Tensor,
    /// Test images.
    pub test_images: Tensor,
    /// Test labels 0..=9.
    pub test_labels: Tensor,
}

/// The path of `name` in `dir`, raw or with `.gz`.
pub fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    [dir.join(name), dir.join(format!("{name}.gz"))]
        .into_iter()
        .find(|p| p.is_file())
}

impl Mnist {
    /// Whether all four files are in `dir`.
    pub fn is_present(dir: &Path) -> bool {
        FILES.iter().all(|f| find_file(dir, f).is_some())
    }

    /// Loads the four files from `dir`.
    pub fn load(dir: &Path) -> Result<Mnist> {
        let mut paths = Vec::with_capacity(4);
        for f in FILES {
            let p = find_file(dir, f).ok_or_else(|| Error::Missing {
                dataset: "MNIST".into(),
                dir: dir.into(),
                missing: f.into(),
                hint: HINT.into(),
            })?;
            paths.push(p);
        }
        let images = |p: &Path| -> Result<Tensor> {
            let t = read_u8_tensor(p)?;
            let s = t.size();
            if s.len() != 3 {
                return Err(Error::Format {
                    path: p.into(),
                    problem: format!("expected images of rank 3 (N, H, W), found dimensions {s:?}"),
                });
            }
            Ok(t.f_unsqueeze(1)?)
        };
        let labels = |p: &Path, n: i64| -> Result<Tensor> {
            let t = read_u8_tensor(p)?;
            if t.size() != [n] {
                return Err(Error::Format {
                    path: p.into(),
                    problem: format!(
                        "expected {n} labels to match the images, found dimensions {:?}",
                        t.size()
                    ),
                });
            }
            Ok(t.f_to_kind(Kind::Int64)?)
        };
        let train_images = images(&paths[0])?;
        let train_labels = labels(&paths[1], train_images.size()[0])?;
        let test_images = images(&paths[2])?;
        let test_labels = labels(&paths[3], test_images.size()[0])?;
        tracing::info!(train = train_images.size()[0], test = test_images.size()[0], dir = %dir.display(), "loaded MNIST");
        Ok(Mnist {
            train_images,
            train_labels,
            test_images,
            test_labels,
        })
    }

    /// Training image `i` as a 28x28 gray image.
    pub fn train_digit(&self, i: usize) -> Result<image::GrayImage> {
        let img = self
            .train_images
            .f_get(i as i64)?
            .f_to_kind(Kind::Uint8)?
            .f_flatten(0, -1)?;
        let bytes: Vec<u8> = Vec::<u8>::try_from(&img)?;
        image::GrayImage::from_raw(28, 28, bytes).ok_or_else(|| Error::Format {
            path: PathBuf::from("mnist"),
            problem: format!("training image {i} is not 28x28"),
        })
    }

    /// Indices of the first `n` training images of each digit in `digits`; fewer is an
    /// error naming `what` (the dataset being made) and its `per_class` option.
    pub fn first_train_indices(
        &self,
        digits: &[i64],
        n: usize,
        what: &str,
    ) -> Result<Vec<Vec<usize>>> {
        let labels: Vec<i64> = Vec::<i64>::try_from(self.train_labels.f_to_kind(Kind::Int64)?)?;
        digits
            .iter()
            .map(|&d| {
                let picks: Vec<usize> = labels
                    .iter()
                    .enumerate()
                    .filter(|(_, &l)| l == d)
                    .map(|(i, _)| i)
                    .take(n)
                    .collect();
                if picks.len() < n {
                    let problem = format!(
                        "digit {d} has only {} training images, {n} asked",
                        picks.len()
                    );
                    return Err(Error::option(what, "per_class", problem));
                }
                Ok(picks)
            })
            .collect()
    }

    /// Checks the MD5 of the four (uncompressed) files against [`CANONICAL_MD5`].
    pub fn verify(dir: &Path) -> Result<()> {
        for (name, expected) in CANONICAL_MD5 {
            let path = find_file(dir, name).ok_or_else(|| Error::Missing {
                dataset: "MNIST".into(),
                dir: dir.into(),
                missing: name.into(),
                hint: HINT.into(),
            })?;
            let actual = md5_hex(&read_maybe_gz(&path)?);
            if actual != expected {
                return Err(Error::Digest {
                    what: path.display().to_string(),
                    expected: expected.into(),
                    actual,
                });
            }
        }
        Ok(())
    }
}

/// Scales u8 images to floats in `[0, 1]` (`x / 255`), as the book does.
pub fn scale_images(images: &Tensor) -> Result<Tensor> {
    Ok(images.f_to_kind(Kind::Float)?.f_div_scalar(255.0)?)
}

/// One-hot encodes integer labels `(N,)` into `(N, num_classes)` floats (Keras'
/// `to_categorical`). Labels outside `0..num_classes` are an error.
pub fn to_categorical(labels: &Tensor, num_classes: i64) -> Result<Tensor> {
    let l = labels.f_to_kind(Kind::Int64)?;
    if l.numel() > 0 {
        let (lo, hi) = (
            l.f_min()?.f_int64_value(&[])?,
            l.f_max()?.f_int64_value(&[])?,
        );
        if lo < 0 || hi >= num_classes {
            return Err(Error::Tensor(convkit_tensor::Error::Invalid(format!(
                "to_categorical: labels must lie in [0, {num_classes}), found {lo}..={hi}"
            ))));
        }
    }
    Ok(l.f_one_hot(num_classes)?.f_to_kind(Kind::Float)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_hot_and_range_check() {
        let y = to_categorical(&Tensor::from_slice(&[0i64, 2, 1]), 3).unwrap();
        assert_eq!(
            Vec::<f32>::try_from(y.view([-1])).unwrap(),
            vec![1., 0., 0., 0., 0., 1., 0., 1., 0.]
        );
        assert!(to_categorical(&Tensor::from_slice(&[3i64]), 3).is_err());
    }

    #[test]
    fn missing_mnist_says_how_to_get_it() {
        let e = Mnist::load(Path::new("/nonexistent/mnist"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("train-images-idx3-ubyte") && e.contains("scripts/run mnist"),
            "{e}"
        );
    }

    #[test]
    fn md5_known_value() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
    }
}
