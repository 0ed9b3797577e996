//! [`ImageFolder`]: a streaming, parallel, deterministic batch source over a class folder.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

use convkit_augment::HwcImage;
use convkit_tensor::seed::derive;
use convkit_tensor::tch::Tensor;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::batching::{assemble, Shared};
use super::decode::ImageDecoder;
use super::decoded_store::DecodedStore;
use super::listing::{list_class_folders, Listing, Sample};
use super::options::{ImageFolderOptions, SplitRule, Subset};
use super::split_rules::split;
use crate::{Error, Result};

/// A folder of class subfolders served as batches of `(N, C, H, W)` float images and their
/// labels (Keras' `flow_from_directory` / `image_dataset_from_directory`). The images lie
/// channels-last in memory while convolutions run so
/// ([`convkit_tensor::memory_format::uses_channels_last`], on by default on CPU and CUDA):
/// the decoded pixels' own order, which the model's convolutions then take as they are.
///
/// Decoding, resizing and augmentation run on a thread pool, a few batches ahead of the
/// consumer; memory stays bounded by `prefetch` batches. Sample `i` of epoch `e` draws its
/// augmentation from a stream derived from (seed, e, i), so batches are bit-identical for any
/// number of threads. Clones share the files, options, cache and skipped-file record.
///
/// # Example
/// ```no_run
/// use convkit_data::image_folder::{ImageFolder, ImageFolderOptions, LabelMode};
/// let train = ImageFolder::open(
///     "cats_and_dogs_small/train",
///     ImageFolderOptions::flow_from_directory()
///         .target_size(150, 150)
///         .batch_size(20)
///         .label_mode(LabelMode::Binary)
///         .rescale(1.0 / 255.0),
/// )?;
/// println!("{}", train.description()); // Found 2000 images belonging to 2 classes.
/// # Ok::<(), convkit_data::Error>(())
/// ```
#[derive(Clone)]
pub struct ImageFolder {
    pub(super) shared: Arc<Shared>,
    pub(super) pool: Arc<rayon::ThreadPool>,
    /// This rank's share of every epoch when split across ranks (`BatchSource::shard`).
    pub(super) shard: Option<convkit_tensor::Shard>,
}

impl std::fmt::Debug for ImageFolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageFolder")
            .field("dir", &self.shared.dir)
            .field("samples", &self.shared.samples.len())
            .field("classes", &self.shared.class_names)
            .finish()
    }
}

impl ImageFolder {
    /// Lists `dir` and prepares the loader (no image is decoded yet).
    pub fn open(dir: impl AsRef<Path>, opts: ImageFolderOptions) -> Result<Self> {
        let dir = dir.as_ref();
        opts.validate()?;
        let listing = list_class_folders(dir, &opts)?;
        Self::from_listing(dir, listing, opts)
    }

    /// Both subsets of a validation split (Keras' `subset="both"`).
    pub fn open_both(
        dir: impl AsRef<Path>,
        opts: ImageFolderOptions,
        fraction: f64,
        rule: SplitRule,
    ) -> Result<(Self, Self)> {
        let dir = dir.as_ref();
        let listing = list_class_folders(dir, &opts)?;
        let train = opts
            .clone()
            .validation_split(fraction, Subset::Training, rule);
        let val = opts.validation_split(fraction, Subset::Validation, rule);
        Ok((
            Self::from_listing(dir, listing.clone(), train)?,
            Self::from_listing(dir, listing, val)?,
        ))
    }

    /// Serves the files of `listing` (a part of a split, see
    /// [`super::split_three_ways`]) as if they were the folder `dir`.
    pub fn from_listing(dir: &Path, listing: Listing, opts: ImageFolderOptions) -> Result<Self> {
        opts.validate()?;
        if let Some(aug) = &opts.augment {
            tracing::debug!(augment = aug.name(), "per-image augmentation");
        }
        let seed = opts.seed.unwrap_or_else(convkit_tensor::seed::seed);
        let samples = match opts.validation_split {
            Some((f, subset, rule)) => split(&listing, f, subset, rule, opts.shuffle, seed),
            None => listing.samples.clone(),
        };
        if samples.is_empty() {
            return Err(Error::Missing {
                dataset: "image folder".into(),
                dir: dir.to_path_buf(),
                missing: format!("images (allowed formats: {})", opts.formats.join(", ")),
                hint: "put images in one subfolder per class".into(),
            });
        }
        let threads = if opts.threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            opts.threads
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("convkit-loader-{i}"))
            .build()
            .map_err(|e| Error::option("image folder", "threads", e.to_string()))?;
        let decoder = ImageDecoder {
            target_size: opts.target_size,
            color_mode: opts.color_mode,
            filter: opts.interpolation,
            max_pixels: opts.max_pixels,
            dct_scaling: opts.dct_scaling,
        };
        let store = DecodedStore::new(&opts.cache, samples.len())?;
        let folder = ImageFolder {
            shared: Arc::new(Shared {
                dir: dir.to_path_buf(),
                class_names: listing.class_names,
                samples,
                opts,
                decoder,
                store,
                bad: Mutex::new(HashSet::new()),
            }),
            pool: Arc::new(pool),
            shard: None,
        };
        tracing::debug!("{}", folder.description());
        Ok(folder)
    }

    /// Keras' message: `Found N images belonging to M classes.`
    pub fn description(&self) -> String {
        format!(
            "Found {} images belonging to {} classes.",
            self.shared.samples.len(),
            self.shared.class_names.len()
        )
    }

    /// Class names in label order.
    pub fn class_names(&self) -> &[String] {
        &self.shared.class_names
    }

    /// The files served, with their labels, in listing order.
    pub fn samples(&self) -> &[Sample] {
        &self.shared.samples
    }

    /// Indices (into [`Self::samples`]) of the files skipped so far as undecodable, in
    /// order. A pass without shuffling serves the other samples in listing order.
    pub fn skipped(&self) -> Vec<usize> {
        let mut v: Vec<usize> = self
            .shared
            .bad
            .lock()
            .map(|b| b.iter().copied().collect())
            .unwrap_or_default();
        v.sort_unstable();
        v
    }

    /// The options in use.
    pub fn options(&self) -> &ImageFolderOptions {
        &self.shared.opts
    }

    pub(super) fn seed(&self) -> u64 {
        self.shared
            .opts
            .seed
            .unwrap_or_else(convkit_tensor::seed::seed)
    }

    /// A digest of what this loader serves: every file's path (relative to the folder),
    /// size and modification time, the labels, and the preprocessing options (target size,
    /// colour mode, resize filter, rescale, label mode, augmentation).
    pub fn fingerprint(&self) -> String {
        let o = &self.shared.opts;
        let mut parts: Vec<Vec<u8>> = vec![format!(
            "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{}",
            o.target_size,
            o.color_mode,
            o.interpolation,
            o.effective_rescale(),
            o.label_mode,
            self.shared.class_names,
            o.augment.as_ref().map_or("none", |a| a.name())
        )
        .into_bytes()];
        for s in &self.shared.samples {
            let rel = s.path.strip_prefix(&self.shared.dir).unwrap_or(&s.path);
            let meta = std::fs::metadata(&s.path).ok();
            let mtime = meta
                .as_ref()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            parts.push(
                format!(
                    "{}|{}|{}|{mtime}",
                    rel.display(),
                    s.label,
                    meta.map_or(0, |m| m.len())
                )
                .into_bytes(),
            );
        }
        let refs: Vec<&[u8]> = parts.iter().map(|p| p.as_slice()).collect();
        convkit_tensor::fingerprint::of_parts(&refs)
    }

    /// Order of the samples in `epoch` (seeded shuffle, or listing order), `repeat` passes;
    /// this rank's share of it when sharded.
    pub fn order(&self, epoch: usize) -> Vec<usize> {
        self.passes(epoch).into_iter().map(|(i, _)| i).collect()
    }

    /// `(sample, pass)` pairs of `epoch`; the pass number keys the augmentation stream.
    pub(super) fn passes(&self, epoch: usize) -> Vec<(usize, u64)> {
        let repeat = self.shared.opts.repeat.max(1);
        let mut out = Vec::with_capacity(self.shared.samples.len() * repeat);
        for r in 0..repeat {
            let pass = (epoch * repeat + r) as u64;
            let mut order: Vec<usize> = (0..self.shared.samples.len()).collect();
            if self.shared.opts.shuffle {
                let s = derive(self.seed(), "image_folder/shuffle", pass);
                order.shuffle(&mut ChaCha8Rng::seed_from_u64(s));
            }
            out.extend(order.into_iter().map(|i| (i, pass)));
        }
        match &self.shard {
            Some(shard) => shard.select(&out),
            None => out,
        }
    }

    /// Loads sample `i` as epoch `epoch` would: decoded, resized and augmented.
    pub fn load_sample(&self, i: usize, epoch: usize) -> Result<Option<HwcImage>> {
        let pass = (epoch * self.shared.opts.repeat.max(1)) as u64;
        self.shared.load_with(i, pass, self.seed(), true)
    }

    /// The whole dataset in memory without augmentation, as `(x, y)` tensors (for small
    /// datasets and for comparisons with a preloaded run).
    pub fn preload(&self) -> Result<(Tensor, Tensor)> {
        let order: Vec<(usize, u64)> = (0..self.shared.samples.len()).map(|i| (i, 0)).collect();
        let shared = Arc::clone(&self.shared);
        let seed = self.seed();
        let batch = self
            .pool
            .install(|| assemble(&shared, &order, seed, false))?;
        Ok((batch.inputs, batch.targets))
    }
}
