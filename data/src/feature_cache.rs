//! [`FeatureCache`]: features of a dataset computed once by a convolutional base and kept on
//! disk as safetensors shards, then streamed in batches to train a dense head (the book's
//! `extract_features`, and its bcolz generator for data that does not fit in memory).
//!
//! The cache records which model and which data produced it ([`CacheKey`]) and refuses to
//! serve a different pair. Shards are written to temporary files and renamed; the manifest is
//! written last, so a run killed mid-way leaves no cache that looks complete.

use std::path::{Path, PathBuf};

use convkit_tensor::tch::Tensor;
use convkit_tensor::{Batch, BatchSource};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

const MANIFEST: &str = "manifest.json";
const FORMAT: u32 = 1;

/// What produced a cache: fingerprints of the model (architecture and weights) and of the
/// data (files and preprocessing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheKey {
    /// Model fingerprint (e.g. `convkit_layers::saving::fingerprint::model_fingerprint`).
    pub model: String,
    /// Data fingerprint (e.g. `ImageFolder::fingerprint`).
    pub data: String,
}

/// The manifest of a cache directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version.
    pub format: u32,
    /// What produced the cache.
    pub key: CacheKey,
    /// Shape of one sample's features.
    pub feature_shape: Vec<i64>,
    /// Shape of one sample's target.
    pub target_shape: Vec<i64>,
    /// Total samples.
    pub num_samples: usize,
    /// Shard files and their sample counts, in dataset order.
    pub shards: Vec<(String, usize)>,
}

/// A complete feature cache on disk.
#[derive(Debug, Clone)]
pub struct FeatureCache {
    dir: PathBuf,
    manifest: Manifest,
}

fn cache_err(dir: &Path, problem: impl Into<String>) -> Error {
    Error::Cache {
        path: dir.to_path_buf(),
        problem: problem.into(),
    }
}

impl FeatureCache {
    /// Opens the cache in `dir` if it is complete and was made by `key`; `Ok(None)` when
    /// there is no complete cache; an error when it was made by another model or other data.
    pub fn open(dir: &Path, key: &CacheKey) -> Result<Option<FeatureCache>> {
        let path = dir.join(MANIFEST);
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Ok(None);
        };
        let manifest: Manifest = serde_json::from_str(&text)
            .map_err(|e| cache_err(dir, format!("unreadable manifest.json: {e}")))?;
        if manifest.format != FORMAT {
            return Err(cache_err(
                dir,
                format!("format {} (expected {FORMAT})", manifest.format),
            ));
        }
        if manifest.key.model != key.model {
            return Err(cache_err(
                dir,
                format!(
                    "made by model {} but model {} asks for it; delete the folder or use another",
                    manifest.key.model, key.model
                ),
            ));
        }
        if manifest.key.data != key.data {
            return Err(cache_err(
                dir,
                format!(
                    "made from data {} but data {} asks for it; delete the folder or use another",
                    manifest.key.data, key.data
                ),
            ));
        }
        for (file, _) in &manifest.shards {
            if !dir.join(file).is_file() {
                return Err(cache_err(dir, format!("shard {file} is missing")));
            }
        }
        Ok(Some(FeatureCache {
            dir: dir.to_path_buf(),
            manifest,
        }))
    }

    /// Runs `extract` over one epoch of `source` (inputs -> features) and writes the shards
    /// (`shard_size` samples each) and the manifest as the cache directory `dir`.
    ///
    /// The cache is written into a hidden sibling (`.<dir>.tmp-<pid>`) that replaces `dir` in
    /// one rename once complete, so a kill or a full disk leaves the previous cache whole.
    pub fn build(
        dir: &Path,
        key: CacheKey,
        source: &mut dyn BatchSource,
        extract: &mut dyn FnMut(&Tensor) -> Result<Tensor>,
        shard_size: usize,
    ) -> Result<FeatureCache> {
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            convkit_tensor::atomic::remove_stale_temps(parent);
        }
        let tmp = convkit_tensor::atomic::temp_sibling(dir);
        let _ = std::fs::remove_dir_all(&tmp);
        let built = Self::build_into(&tmp, key, source, extract, shard_size).and_then(|manifest| {
            convkit_tensor::atomic::replace_dir(&tmp, dir)?;
            Ok(manifest)
        });
        match built {
            Ok(manifest) => {
                tracing::info!(dir = %dir.display(), samples = manifest.num_samples, shards = manifest.shards.len(), "feature cache written");
                Ok(FeatureCache {
                    dir: dir.to_path_buf(),
                    manifest,
                })
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&tmp);
                Err(e)
            }
        }
    }

    /// Writes a whole cache into the new directory `dir`; returns its manifest.
    fn build_into(
        dir: &Path,
        key: CacheKey,
        source: &mut dyn BatchSource,
        extract: &mut dyn FnMut(&Tensor) -> Result<Tensor>,
        shard_size: usize,
    ) -> Result<Manifest> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let shard_size = shard_size.max(1);
        let (mut feats, mut targets): (Vec<Tensor>, Vec<Tensor>) = (vec![], vec![]);
        let mut pending = 0usize;
        let mut shards = vec![];
        let (mut feature_shape, mut target_shape) = (vec![], vec![]);
        let mut total = 0usize;
        let flush = |feats: &mut Vec<Tensor>,
                     targets: &mut Vec<Tensor>,
                     shards: &mut Vec<(String, usize)>|
         -> Result<()> {
            if feats.is_empty() {
                return Ok(());
            }
            // Contiguous: a convolutional base's features come channels-last
            // (convkit_tensor::memory_format), and files hold the plain NCHW order.
            let f = Tensor::f_cat(feats, 0)?
                .f_to_device(convkit_tensor::tch::Device::Cpu)?
                .f_contiguous()?;
            let t = Tensor::f_cat(targets, 0)?
                .f_to_device(convkit_tensor::tch::Device::Cpu)?
                .f_contiguous()?;
            let n = f.size()[0] as usize;
            let name = format!("features-{:05}.safetensors", shards.len());
            let path = dir.join(&name);
            Tensor::write_safetensors(&[("features", &f), ("targets", &t)], &path)
                .map_err(|e| cache_err(&path, format!("cannot write the shard: {e}")))?;
            shards.push((name, n));
            feats.clear();
            targets.clear();
            Ok(())
        };
        for batch in source.epoch(0)? {
            let batch = batch?;
            let f = convkit_tensor::tch::no_grad(|| extract(&batch.inputs))?;
            if f.size().first() != batch.inputs.size().first() {
                return Err(cache_err(
                    dir,
                    format!(
                        "the extractor returned {:?} for a batch of {}",
                        f.size(),
                        batch.len()
                    ),
                ));
            }
            feature_shape = f.size()[1..].to_vec();
            target_shape = batch.targets.size()[1..].to_vec();
            total += batch.len();
            pending += batch.len();
            feats.push(f.f_detach()?);
            targets.push(batch.targets);
            if pending >= shard_size {
                flush(&mut feats, &mut targets, &mut shards)?;
                pending = 0;
            }
        }
        flush(&mut feats, &mut targets, &mut shards)?;
        let manifest = Manifest {
            format: FORMAT,
            key,
            feature_shape,
            target_shape,
            num_samples: total,
            shards,
        };
        let bytes =
            serde_json::to_vec_pretty(&manifest).map_err(|e| cache_err(dir, e.to_string()))?;
        convkit_tensor::atomic::write_bytes_atomic(&dir.join(MANIFEST), &bytes)?;
        Ok(manifest)
    }

    /// Opens the cache made by `key`, or builds it.
    pub fn open_or_build(
        dir: &Path,
        key: CacheKey,
        source: &mut dyn BatchSource,
        extract: &mut dyn FnMut(&Tensor) -> Result<Tensor>,
        shard_size: usize,
    ) -> Result<FeatureCache> {
        match Self::open(dir, &key)? {
            Some(c) => {
                tracing::info!(dir = %dir.display(), "reusing feature cache");
                Ok(c)
            }
            None => Self::build(dir, key, source, extract, shard_size),
        }
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The whole cache in memory: every sample's features and target, in dataset order.
    ///
    /// # Shapes
    /// `([num_samples, feature_shape...], [num_samples, target_shape...])`
    pub fn read_all(&self) -> Result<(Tensor, Tensor)> {
        let (mut feats, mut targets) = (vec![], vec![]);
        for (file, _) in &self.manifest.shards {
            let (f, t) = load_shard(&self.dir, file)?;
            feats.push(f);
            targets.push(t);
        }
        if feats.is_empty() {
            return Err(cache_err(&self.dir, "the cache holds no shard"));
        }
        Ok((Tensor::f_cat(&feats, 0)?, Tensor::f_cat(&targets, 0)?))
    }

    /// Streams the cache in batches, one shard in memory at a time; with `shuffle`, shard
    /// order and the samples inside each shard are shuffled per epoch from `seed`.
    pub fn batches(&self, batch_size: usize, shuffle: bool, seed: u64) -> FeatureBatches {
        FeatureBatches {
            cache: self.clone(),
            batch_size: batch_size.max(1),
            shuffle,
            seed,
        }
    }
}

/// A [`BatchSource`] over a [`FeatureCache`].
#[derive(Debug)]
pub struct FeatureBatches {
    cache: FeatureCache,
    batch_size: usize,
    shuffle: bool,
    seed: u64,
}

fn load_shard(dir: &Path, file: &str) -> convkit_tensor::Result<(Tensor, Tensor)> {
    let path = dir.join(file);
    let mut tensors = Tensor::read_safetensors(&path)?;
    let mut take = |name: &str| {
        tensors
            .iter()
            .position(|(n, _)| n == name)
            .map(|i| tensors.swap_remove(i).1)
            .ok_or_else(|| {
                convkit_tensor::Error::Invalid(format!("{}: no tensor '{name}'", path.display()))
            })
    };
    Ok((take("features")?, take("targets")?))
}

impl BatchSource for FeatureBatches {
    fn num_samples(&self) -> usize {
        self.cache.manifest.num_samples
    }

    fn batches_per_epoch(&self) -> usize {
        self.cache
            .manifest
            .shards
            .iter()
            .map(|(_, n)| n.div_ceil(self.batch_size))
            .sum()
    }

    fn epoch(
        &mut self,
        epoch: usize,
    ) -> convkit_tensor::Result<Box<dyn Iterator<Item = convkit_tensor::Result<Batch>> + '_>> {
        let mut rng = ChaCha8Rng::seed_from_u64(convkit_tensor::seed::derive(
            self.seed,
            "feature_cache",
            epoch as u64,
        ));
        let mut order: Vec<usize> = (0..self.cache.manifest.shards.len()).collect();
        if self.shuffle {
            order.shuffle(&mut rng);
        }
        let (dir, shards, bs, shuffle) = (
            self.cache.dir.clone(),
            self.cache.manifest.shards.clone(),
            self.batch_size,
            self.shuffle,
        );
        let it = order.into_iter().flat_map(move |s| {
            let batches: Vec<convkit_tensor::Result<Batch>> = match load_shard(&dir, &shards[s].0) {
                Err(e) => vec![Err(e)],
                Ok((f, t)) => {
                    let n = f.size()[0];
                    let mut idx: Vec<i64> = (0..n).collect();
                    if shuffle {
                        idx.shuffle(&mut rng);
                    }
                    idx.chunks(bs)
                        .map(|c| {
                            let i = Tensor::f_from_slice(c)?;
                            Ok(Batch::new(
                                f.f_index_select(0, &i)?,
                                t.f_index_select(0, &i)?,
                            ))
                        })
                        .collect()
                }
            };
            batches
        });
        Ok(Box::new(it))
    }
}
