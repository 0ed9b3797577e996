//! Building `train/ validation/ test/` folders from an original dataset: Kaggle
//! dogs-vs-cats style (flat `<class>.<index>.<ext>` files, index ranges per split, as in the
//! book) or by fractions over class subfolders. Files are copied or hard-linked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::{Error, Result};

/// The three split folders, in order.
pub const SPLITS: [&str; 3] = ["train", "validation", "test"];

/// How the original folder is laid out and cut.
#[derive(Debug, Clone, PartialEq)]
pub enum SplitLayout {
    /// Flat files named `<class>.<index>.<ext>` (Kaggle's `cat.0.jpg`): per class, indices
    /// `[0, a)` go to train, `[a, a + b)` to validation, `[a + b, a + b + c)` to test
    /// (the book: 1000 / 500 / 500).
    Flat {
        /// Files per class in train, validation and test.
        counts: [usize; 3],
    },
    /// Class subfolders: each class's files (sorted, then shuffled with `seed` unless
    /// `None`) are cut by these fractions (summing to at most 1).
    Fractions {
        /// Fractions for train, validation and test.
        fractions: [f64; 3],
        /// Shuffle seed (`None`: keep the sorted order).
        seed: Option<u64>,
    },
    /// Class subfolders: `validation` files of each class (sorted, then shuffled with
    /// `seed` unless `None`) go to validation, the rest to train (the finance chapter's 12
    /// plant images per species); no test split.
    HoldOut {
        /// Validation files per class.
        validation: usize,
        /// Shuffle seed (`None`: the first files by name).
        seed: Option<u64>,
    },
}

/// Copy the files or hard-link them (links fall back to copies across file systems).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transfer {
    /// Copy the bytes.
    Copy,
    /// Hard-link (no extra space).
    HardLink,
}

/// Files per split and class.
pub type SplitCounts = BTreeMap<String, BTreeMap<String, usize>>;

const IMAGE_EXTENSIONS: [&str; 9] = [
    "jpg", "jpeg", "png", "bmp", "gif", "webp", "tif", "tiff", "ppm",
];

fn is_image(p: &Path) -> bool {
    p.extension()
        .map(|e| IMAGE_EXTENSIONS.contains(&e.to_string_lossy().to_lowercase().as_str()))
        .unwrap_or(false)
}

/// `cat.12.jpg` -> (`cat`, 12).
fn parse_flat(name: &str) -> Option<(String, usize)> {
    let mut parts = name.splitn(3, '.');
    let class = parts.next()?;
    let index = parts.next()?.parse().ok()?;
    parts.next()?;
    (!class.is_empty()).then(|| (class.to_string(), index))
}

fn plan(original: &Path, layout: &SplitLayout) -> Result<Vec<(usize, String, PathBuf)>> {
    let mut out = Vec::new();
    match layout {
        SplitLayout::Flat { counts } => {
            let mut by_class: BTreeMap<String, Vec<(usize, PathBuf)>> = BTreeMap::new();
            let rd = std::fs::read_dir(original).map_err(|e| Error::io(original, e))?;
            for e in rd {
                let e = e.map_err(|e| Error::io(original, e))?;
                let p = e.path();
                if !p.is_file() || !is_image(&p) {
                    continue;
                }
                if let Some((class, index)) = parse_flat(&e.file_name().to_string_lossy()) {
                    by_class.entry(class).or_default().push((index, p));
                }
            }
            if by_class.is_empty() {
                return Err(Error::Missing {
                    dataset: "flat (Kaggle-style) image folder".into(),
                    dir: original.to_path_buf(),
                    missing: "files named <class>.<index>.<ext>".into(),
                    hint: "use the fractions layout for class subfolders".into(),
                });
            }
            for (class, files) in by_class {
                let mut bounds = [0usize; 4];
                for k in 0..3 {
                    bounds[k + 1] = bounds[k] + counts[k];
                }
                let available = files.len();
                let mut taken = 0;
                for (index, path) in files {
                    if let Some(split) =
                        (0..3).find(|&k| index >= bounds[k] && index < bounds[k + 1])
                    {
                        out.push((split, class.clone(), path));
                        taken += 1;
                    }
                }
                if taken < bounds[3] {
                    tracing::warn!(
                        class = %class,
                        wanted = bounds[3],
                        found = taken,
                        available,
                        "fewer files than the split asks for"
                    );
                }
            }
        }
        SplitLayout::Fractions { fractions, seed } => {
            let total: f64 = fractions.iter().sum();
            if fractions.iter().any(|f| !(0.0..=1.0).contains(f)) || total > 1.0 + 1e-9 {
                return Err(Error::option(
                    "split",
                    "fractions",
                    format!("must each lie in [0, 1] and sum to at most 1, got {fractions:?}"),
                ));
            }
            for (class, files) in class_files(original, *seed)? {
                let n = files.len();
                let a = (fractions[0] * n as f64).round() as usize;
                let b = ((fractions[0] + fractions[1]) * n as f64).round() as usize;
                let c = (total * n as f64).round() as usize;
                for (i, path) in files.into_iter().enumerate() {
                    let split = if i < a {
                        0
                    } else if i < b {
                        1
                    } else if i < c {
                        2
                    } else {
                        continue;
                    };
                    out.push((split, class.clone(), path));
                }
            }
        }
        SplitLayout::HoldOut { validation, seed } => {
            for (class, files) in class_files(original, *seed)? {
                if files.len() <= *validation {
                    return Err(Error::option(
                        "split",
                        "validation",
                        format!(
                            "class '{class}' has {} image(s): holding out {validation} for \
                             validation leaves none to train on",
                            files.len()
                        ),
                    ));
                }
                for (i, path) in files.into_iter().enumerate() {
                    let split = if i < *validation { 1 } else { 0 };
                    out.push((split, class.clone(), path));
                }
            }
        }
    }
    Ok(out)
}

/// The class subfolders of `original` in name order, each with its image files sorted by
/// name, then shuffled from (`seed`, class) when a seed is given.
fn class_files(original: &Path, seed: Option<u64>) -> Result<Vec<(String, Vec<PathBuf>)>> {
    let mut classes: Vec<PathBuf> = std::fs::read_dir(original)
        .map_err(|e| Error::io(original, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    classes.sort();
    if classes.is_empty() {
        return Err(Error::Missing {
            dataset: "class-folder dataset".into(),
            dir: original.to_path_buf(),
            missing: "class subfolders".into(),
            hint: "use the flat layout for Kaggle-style <class>.<index>.<ext> files".into(),
        });
    }
    let mut out = Vec::new();
    for dir in classes {
        let class = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| Error::io(&dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && is_image(p))
            .collect();
        files.sort();
        if let Some(s) = seed {
            let mut rng = ChaCha8Rng::seed_from_u64(convkit_tensor::seed::derive(s, &class, 0));
            files.shuffle(&mut rng);
        }
        out.push((class, files));
    }
    Ok(out)
}

fn non_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|mut r| r.next().is_some())
        .unwrap_or(false)
}

/// Builds `target/{train,validation,test}/<class>/` from `original`; refuses a non-empty
/// `target` unless `force` (which removes the three split folders first). Returns the counts.
pub fn split_dataset(
    original: &Path,
    target: &Path,
    layout: &SplitLayout,
    transfer: Transfer,
    force: bool,
) -> Result<SplitCounts> {
    if non_empty(target) {
        if !force {
            return Err(Error::option(
                "split",
                "target",
                format!(
                    "{} is not empty; pass --force to replace its train/validation/test folders",
                    target.display()
                ),
            ));
        }
        for s in SPLITS {
            let d = target.join(s);
            if d.exists() {
                std::fs::remove_dir_all(&d).map_err(|e| Error::io(&d, e))?;
            }
        }
    }
    let files = plan(original, layout)?;
    let mut counts = SplitCounts::new();
    let mut linked_fallback = false;
    for (split, class, src) in files {
        let dir = target.join(SPLITS[split]).join(&class);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let dst = dir.join(src.file_name().unwrap_or_default());
        let done = match transfer {
            Transfer::HardLink => std::fs::hard_link(&src, &dst).is_ok(),
            Transfer::Copy => false,
        };
        if !done {
            if transfer == Transfer::HardLink && !linked_fallback {
                tracing::warn!(file = %src.display(), "cannot hard-link; copying instead");
                linked_fallback = true;
            }
            std::fs::copy(&src, &dst).map_err(|e| Error::io(&dst, e))?;
        }
        *counts
            .entry(SPLITS[split].to_string())
            .or_default()
            .entry(class)
            .or_default() += 1;
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_layout_uses_index_ranges() {
        let src = tempfile::tempdir().unwrap();
        for class in ["cat", "dog"] {
            for i in 0..12 {
                std::fs::write(src.path().join(format!("{class}.{i}.jpg")), b"x").unwrap();
            }
        }
        std::fs::write(src.path().join("readme.txt"), b"x").unwrap();
        let dst = tempfile::tempdir().unwrap();
        let target = dst.path().join("small");
        let counts = split_dataset(
            src.path(),
            &target,
            &SplitLayout::Flat { counts: [5, 3, 2] },
            Transfer::HardLink,
            false,
        )
        .unwrap();
        assert_eq!(counts["train"]["cat"], 5);
        assert_eq!(counts["validation"]["dog"], 3);
        assert_eq!(counts["test"]["dog"], 2);
        assert!(target.join("train/cat/cat.4.jpg").exists());
        assert!(target.join("validation/cat/cat.5.jpg").exists());
        assert!(target.join("test/dog/dog.9.jpg").exists());
        assert!(!target.join("test/dog/dog.10.jpg").exists());
        // a second run refuses, --force replaces
        let again = split_dataset(
            src.path(),
            &target,
            &SplitLayout::Flat { counts: [5, 3, 2] },
            Transfer::Copy,
            false,
        );
        assert!(again.unwrap_err().to_string().contains("--force"));
        split_dataset(
            src.path(),
            &target,
            &SplitLayout::Flat { counts: [1, 1, 1] },
            Transfer::Copy,
            true,
        )
        .unwrap();
        assert_eq!(
            std::fs::read_dir(target.join("train/cat")).unwrap().count(),
            1
        );
    }

    #[test]
    fn fractions_cut_each_class() {
        let src = tempfile::tempdir().unwrap();
        for class in ["a", "b"] {
            std::fs::create_dir_all(src.path().join(class)).unwrap();
            for i in 0..10 {
                std::fs::write(src.path().join(class).join(format!("{i}.png")), b"x").unwrap();
            }
        }
        let dst = tempfile::tempdir().unwrap();
        let layout = SplitLayout::Fractions {
            fractions: [0.6, 0.2, 0.2],
            seed: Some(3),
        };
        let counts = split_dataset(src.path(), dst.path(), &layout, Transfer::Copy, false).unwrap();
        for class in ["a", "b"] {
            assert_eq!(counts["train"][class], 6);
            assert_eq!(counts["validation"][class], 2);
            assert_eq!(counts["test"][class], 2);
        }
    }

    #[test]
    fn hold_out_takes_a_count_per_class_and_refuses_a_class_too_small() {
        let src = tempfile::tempdir().unwrap();
        for (class, n) in [("a", 15), ("b", 13)] {
            std::fs::create_dir_all(src.path().join(class)).unwrap();
            for i in 0..n {
                std::fs::write(src.path().join(class).join(format!("{i}.png")), b"x").unwrap();
            }
        }
        let dst = tempfile::tempdir().unwrap();
        let layout = SplitLayout::HoldOut {
            validation: 12,
            seed: Some(1),
        };
        let counts =
            split_dataset(src.path(), dst.path(), &layout, Transfer::HardLink, false).unwrap();
        assert_eq!(counts["validation"]["a"], 12);
        assert_eq!(counts["train"]["a"], 3);
        assert_eq!(counts["train"]["b"], 1);
        assert!(!counts.contains_key("test"));
        assert!(src.path().join("a/0.png").is_file(), "the originals stay");
        let layout = SplitLayout::HoldOut {
            validation: 13,
            seed: None,
        };
        let e = split_dataset(src.path(), dst.path(), &layout, Transfer::Copy, true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("class 'b' has 13 image(s)"), "{e}");
    }
}
