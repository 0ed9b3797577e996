//! Batch assembly of an image folder: the samples' decoding (through the decoded-image
//! store), per-sample augmentation seeded from (seed, pass, sample), and packing into a CHW
//! float batch with its labels. [`super::prefetch`] runs it a few batches ahead.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Mutex;

use convkit_augment::HwcImage;
use convkit_tensor::seed::derive;
use convkit_tensor::tch::{Kind, Tensor};
use convkit_tensor::Batch;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::decode::ImageDecoder;
use super::decoded_store::DecodedStore;
use super::listing::Sample;
use super::options::{BadFilePolicy, ImageFolderOptions, LabelMode};
use crate::{Error, Result};

/// What the consumer and the loader threads of an image folder share.
pub(super) struct Shared {
    pub(super) dir: PathBuf,
    pub(super) class_names: Vec<String>,
    pub(super) samples: Vec<Sample>,
    pub(super) opts: ImageFolderOptions,
    pub(super) decoder: ImageDecoder,
    pub(super) store: DecodedStore,
    pub(super) bad: Mutex<HashSet<usize>>,
}

impl Shared {
    pub(super) fn shape(&self) -> (usize, usize, usize) {
        let (h, w) = self.opts.target_size;
        (h, w, self.opts.color_mode.channels())
    }

    /// Decoded (cached) and, with `augment`, augmented image of sample `i` in pass `pass`;
    /// `None` when skipped.
    pub(super) fn load_with(
        &self,
        i: usize,
        pass: u64,
        seed: u64,
        augment: bool,
    ) -> Result<Option<HwcImage>> {
        if self.bad.lock().map(|b| b.contains(&i)).unwrap_or(false) {
            return Ok(None);
        }
        let img = match self.store.get(i, self.shape()) {
            Some(img) => img,
            None => match self.decoder.load(&self.samples[i].path) {
                Ok(img) => {
                    self.store.put(i, &img, Some(&self.dir));
                    img
                }
                Err(problem) => {
                    let path = &self.samples[i].path;
                    if self.opts.bad_files == BadFilePolicy::Error {
                        return Err(Error::Image {
                            path: path.clone(),
                            problem,
                        });
                    }
                    let first = self.bad.lock().map(|mut b| b.insert(i)).unwrap_or(true);
                    if first {
                        tracing::warn!(file = %path.display(), "skipping image: {problem}");
                    }
                    return Ok(None);
                }
            },
        };
        Ok(Some(match (&self.opts.augment, augment) {
            (Some(aug), true) => {
                let s = derive(
                    derive(seed, "image_folder/augment", pass),
                    "sample",
                    i as u64,
                );
                aug.augment(img, &mut ChaCha8Rng::seed_from_u64(s))
            }
            _ => img,
        }))
    }
}

/// Writes an HWC u8 image into a CHW float slice, times `scale`.
fn write_chw(img: &HwcImage, out: &mut [f32], scale: f32) {
    let (h, w, c) = (img.height(), img.width(), img.channels());
    let plane = h * w;
    let data = img.data();
    if c == 1 {
        for (o, &v) in out.iter_mut().zip(data) {
            *o = f32::from(v) * scale;
        }
        return;
    }
    for (p, px) in data.chunks_exact(c).enumerate() {
        for (ch, &v) in px.iter().enumerate() {
            out[ch * plane + p] = f32::from(v) * scale;
        }
    }
}

/// Loads the samples `indices` (in parallel on the current pool) into one batch.
pub(super) fn assemble(
    shared: &Shared,
    indices: &[(usize, u64)],
    seed: u64,
    augment: bool,
) -> Result<Batch> {
    let (h, w, c) = shared.shape();
    let size = h * w * c;
    let scale = shared.opts.effective_rescale().unwrap_or(1.0);
    let mut buf = vec![0f32; indices.len() * size];
    let kept: Vec<Result<bool>> = buf
        .par_chunks_mut(size)
        .zip(indices.par_iter())
        .map(|(out, &(i, pass))| {
            Ok(match shared.load_with(i, pass, seed, augment)? {
                Some(img) => {
                    write_chw(&img, out, scale);
                    true
                }
                None => false,
            })
        })
        .collect();
    let mut labels = Vec::with_capacity(indices.len());
    let mut n = 0;
    for (k, (ok, &(i, _))) in kept.into_iter().zip(indices).enumerate() {
        if ok? {
            if n != k {
                buf.copy_within(k * size..(k + 1) * size, n * size);
            }
            labels.push(shared.samples[i].label as i64);
            n += 1;
        }
    }
    buf.truncate(n * size);
    let n = n as i64;
    let inputs = Tensor::f_from_slice(&buf)?.f_view([n, c as i64, h as i64, w as i64])?;
    let classes = shared.class_names.len() as i64;
    let y = Tensor::f_from_slice(&labels)?;
    let targets = match shared.opts.label_mode {
        LabelMode::Sparse => y,
        LabelMode::Binary => y.f_to_kind(Kind::Float)?.f_view([n, 1])?,
        LabelMode::Categorical => y.f_one_hot(classes)?.f_to_kind(Kind::Float)?,
        LabelMode::None => Tensor::f_zeros([n, 0], (Kind::Float, inputs.device()))?,
    };
    Ok(Batch::new(inputs, targets))
}
