//! Batch assembly of an image folder: the samples' decoding (through the decoded-image
//! store) and per-sample augmentation seeded from (seed, pass, sample) on the loader threads
//! ([`gather`]), then the float batch with its labels ([`to_batch`]: the images copied once,
//! channels-last as they lie). [`super::prefetch`] runs it a few batches ahead, the next
//! batch's gather alongside this one's packing.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Mutex;

use convkit_augment::HwcImage;
use convkit_tensor::memory_format::uses_channels_last;
use convkit_tensor::seed::derive;
use convkit_tensor::tch::{Device, Kind, Tensor};
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

/// One batch as the loader threads leave it: the kept samples' images and labels.
pub(super) struct BatchPixels {
    images: Vec<HwcImage>,
    labels: Vec<i64>,
}

/// Loads the samples `indices` (in parallel on the current pool): decoded and augmented;
/// skipped samples are left out, and the first error in batch order is returned.
pub(super) fn gather(
    shared: &Shared,
    indices: &[(usize, u64)],
    seed: u64,
    augment: bool,
) -> Result<BatchPixels> {
    let loaded: Vec<Result<Option<HwcImage>>> = indices
        .par_iter()
        .map(|&(i, pass)| shared.load_with(i, pass, seed, augment))
        .collect();
    let mut batch = BatchPixels {
        images: Vec::with_capacity(indices.len()),
        labels: Vec::with_capacity(indices.len()),
    };
    for (img, &(i, _)) in loaded.into_iter().zip(indices) {
        if let Some(img) = img? {
            batch.images.push(img);
            batch.labels.push(shared.samples[i].label as i64);
        }
    }
    Ok(batch)
}

/// The batch of `px`: inputs `(N, C, H, W)` float, times the folder's rescale factor
/// (`f32::from(v) * scale`, as Keras' `rescale`), stored channels-last when convolutions run
/// so ([`uses_channels_last`]: the model's conversion is then none) and plainly contiguous
/// otherwise; targets in the folder's label mode.
pub(super) fn to_batch(shared: &Shared, px: BatchPixels) -> Result<Batch> {
    let (h, w, c) = shared.shape();
    let n = px.labels.len() as i64;
    let scale = shared.opts.effective_rescale().unwrap_or(1.0);
    let mut floats = Vec::with_capacity(px.images.len() * h * w * c);
    for img in &px.images {
        floats.extend(img.data().iter().map(|&v| f32::from(v) * scale));
    }
    let nhwc = Tensor::f_from_slice(&floats)?.f_view([n, h as i64, w as i64, c as i64])?;
    let inputs = nhwc.f_permute([0, 3, 1, 2])?;
    let inputs = if uses_channels_last(Device::Cpu) {
        inputs
    } else {
        inputs.f_contiguous()?
    };
    let classes = shared.class_names.len() as i64;
    let y = Tensor::f_from_slice(&px.labels)?;
    let targets = match shared.opts.label_mode {
        LabelMode::Sparse => y,
        LabelMode::Binary => y.f_to_kind(Kind::Float)?.f_view([n, 1])?,
        LabelMode::Categorical => y.f_one_hot(classes)?.f_to_kind(Kind::Float)?,
        LabelMode::None => Tensor::f_zeros([n, 0], (Kind::Float, inputs.device()))?,
    };
    Ok(Batch::new(inputs, targets))
}

/// Loads the samples `indices` into one batch ([`gather`], then [`to_batch`]).
pub(super) fn assemble(
    shared: &Shared,
    indices: &[(usize, u64)],
    seed: u64,
    augment: bool,
) -> Result<Batch> {
    to_batch(shared, gather(shared, indices, seed, augment)?)
}
