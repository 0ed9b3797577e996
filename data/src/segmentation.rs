//! Image + mask pairs for segmentation in the Oxford-IIIT Pet layout: `images/<id>.jpg` and
//! `annotations/trimaps/<id>.png`, trimap values 1 (object), 2 (background), 3 (border),
//! shifted to classes 0..2 as in the book (`mask - 1`).

use std::path::{Path, PathBuf};

use convkit_tensor::tch::{Kind, Tensor};
use image::imageops;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::{Error, Result};

/// One image and its mask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    /// The photo.
    pub image: PathBuf,
    /// Its trimap.
    pub mask: PathBuf,
}

/// The pairs of an Oxford-layout folder, sorted by id. Images without a trimap are skipped
/// (with a warning), as are hidden files (`._x.jpg`).
pub fn find_pairs(root: &Path) -> Result<Vec<Pair>> {
    let images = root.join("images");
    let trimaps = root.join("annotations").join("trimaps");
    for d in [&images, &trimaps] {
        if !d.is_dir() {
            return Err(Error::Missing {
                dataset: "segmentation pairs".into(),
                dir: root.to_path_buf(),
                missing: d.display().to_string(),
                hint: "expected the Oxford-IIIT Pet layout: images/*.jpg and annotations/trimaps/*.png"
                    .into(),
            });
        }
    }
    let mut pairs = Vec::new();
    let mut unmatched = 0;
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&images)
        .map_err(|e| Error::io(&images, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let is_jpg =
            name.to_lowercase().ends_with(".jpg") || name.to_lowercase().ends_with(".jpeg");
        if name.starts_with('.') || !is_jpg || !p.is_file() {
            continue;
        }
        let stem = p
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mask = trimaps.join(format!("{stem}.png"));
        if mask.is_file() {
            pairs.push(Pair { image: p, mask });
        } else {
            unmatched += 1;
        }
    }
    if unmatched > 0 {
        tracing::warn!(unmatched, dir = %root.display(), "images without a trimap were skipped");
    }
    if pairs.is_empty() {
        return Err(Error::Missing {
            dataset: "segmentation pairs".into(),
            dir: root.to_path_buf(),
            missing: "images/<id>.jpg with annotations/trimaps/<id>.png".into(),
            hint: "no image has a trimap".into(),
        });
    }
    Ok(pairs)
}

/// Loads pairs resized to `size` x `size` (images bilinear, masks nearest), in parallel:
/// images `(N, 3, size, size)` u8 and masks `(N, size, size)` int64 classes `mask - 1`.
/// A trimap value outside 1..=3 is an error naming the file.
pub fn load_pairs(pairs: &[Pair], size: u32) -> Result<(Tensor, Tensor)> {
    let loaded: Vec<(Vec<u8>, Vec<u8>)> = pairs
        .par_iter()
        .map(|p| -> Result<(Vec<u8>, Vec<u8>)> {
            let img = crate::image_file::open_image(&p.image)?.to_rgb8();
            let img = imageops::resize(&img, size, size, imageops::FilterType::Triangle);
            let mask = crate::image_file::open_image(&p.mask)?.to_luma8();
            let mask = imageops::resize(&mask, size, size, imageops::FilterType::Nearest);
            let mut classes = mask.into_raw();
            for v in classes.iter_mut() {
                if !(1..=3).contains(v) {
                    return Err(Error::Image {
                        path: p.mask.clone(),
                        problem: format!("trimap value {v} outside 1..=3"),
                    });
                }
                *v -= 1;
            }
            Ok((img.into_raw(), classes))
        })
        .collect::<Result<_>>()?;
    let n = loaded.len() as i64;
    let s = size as i64;
    let mut pixels = Vec::with_capacity(loaded.len() * (3 * s * s) as usize);
    let mut classes = Vec::with_capacity(loaded.len() * (s * s) as usize);
    for (p, c) in &loaded {
        pixels.extend_from_slice(p);
        classes.extend_from_slice(c);
    }
    let x = Tensor::f_from_slice(&pixels)?
        .f_view([n, s, s, 3])?
        .f_permute([0, 3, 1, 2])?
        .f_contiguous()?;
    let y = Tensor::f_from_slice(&classes)?
        .f_view([n, s, s])?
        .f_to_kind(Kind::Int64)?;
    Ok((x, y))
}

/// A seeded split of `n` indices into `(train, held_out)` with `held_out` samples held out.
/// Both parts must keep a sample: a split that leaves nothing to train on or to score is an
/// error, never a silently smaller one.
pub fn holdout_split(n: usize, held_out: usize, seed: u64) -> Result<(Vec<usize>, Vec<usize>)> {
    if held_out == 0 || held_out >= n {
        return Err(Error::option(
            "segmentation split",
            "held_out",
            format!("must lie in 1..{n} to leave images to train on and to score, got {held_out}"),
        ));
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let val = idx.split_off(n - held_out);
    Ok((idx, val))
}
