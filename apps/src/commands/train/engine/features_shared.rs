//! A split's features for `--mode features`, and how several ranks get them: each rank runs
//! the base over its share of the images (every sample once, on one rank), the shares are
//! gathered on every rank in listing order, and rank 0 writes them as the feature cache; when
//! rank 0 already has a cache made by the same base and data, it sends the features to the
//! others instead (ranks on other machines cannot read its disk). Each rank then holds the
//! split's features in memory, and the head trains data-parallel on them. One process holds
//! them in memory too when they fit in 1 GiB, and streams them from the cache otherwise.

use std::path::{Path, PathBuf};

use convkit_data::feature_cache::{CacheKey, FeatureCache};
use convkit_data::image_folder::ImageFolder;
use convkit_layers::prelude::*;
use convkit_tensor::distributed::ProcessGroup;
use convkit_tensor::tch::{Device, Kind, Tensor};
use convkit_tensor::{BatchSource, Shard, TensorBatches};

use super::Engine;

/// Samples per file of a feature cache.
pub(super) const CACHE_SHARD: usize = 512;

/// One split's features: a cache on disk (one process), or the whole split in memory (every
/// rank of a data-parallel run), with the image each sample came from.
pub(super) enum SplitFeatures {
    /// Streamed from the cache, one file at a time.
    Disk(FeatureCache, Vec<PathBuf>),
    /// Features and targets in listing order.
    Memory {
        features: Tensor,
        targets: Tensor,
        paths: Vec<PathBuf>,
    },
}

impl Clone for SplitFeatures {
    fn clone(&self) -> Self {
        match self {
            SplitFeatures::Disk(c, p) => SplitFeatures::Disk(c.clone(), p.clone()),
            SplitFeatures::Memory {
                features,
                targets,
                paths,
            } => SplitFeatures::Memory {
                features: features.shallow_clone(),
                targets: targets.shallow_clone(),
                paths: paths.clone(),
            },
        }
    }
}

/// Caches up to this size are trained on from memory, shuffled as one array (Keras'
/// `fit(features, labels)` in the book); larger ones are streamed file by file.
const IN_MEMORY_BYTES: usize = 1 << 30;

impl SplitFeatures {
    /// `cache` in memory when it is small enough ([`IN_MEMORY_BYTES`]), else streamed.
    pub(super) fn from_cache(cache: FeatureCache, paths: Vec<PathBuf>) -> anyhow::Result<Self> {
        let m = cache.manifest();
        let per_sample: usize = m
            .feature_shape
            .iter()
            .map(|d| *d.max(&0) as usize)
            .product();
        if m.num_samples.saturating_mul(per_sample).saturating_mul(4) > IN_MEMORY_BYTES {
            return Ok(SplitFeatures::Disk(cache, paths));
        }
        let (features, targets) = cache.read_all()?;
        memory(features, targets, paths)
    }

    /// The shape of one sample's features.
    pub(super) fn feature_shape(&self) -> Vec<i64> {
        match self {
            SplitFeatures::Disk(c, _) => c.manifest().feature_shape.clone(),
            SplitFeatures::Memory { features, .. } => features.size()[1..].to_vec(),
        }
    }

    /// The images the samples came from, in order.
    pub(super) fn paths(&self) -> &[PathBuf] {
        match self {
            SplitFeatures::Disk(_, p) | SplitFeatures::Memory { paths: p, .. } => p,
        }
    }

    /// The samples in batches, shuffled per epoch: in memory as one array from the global
    /// seed (the order a data-parallel `fit` shares among the ranks, so `N` ranks at batch `B`
    /// see what one process sees at `N * B`), on disk file by file from `seed`.
    pub(super) fn batches(
        &self,
        batch_size: usize,
        shuffle: bool,
        seed: u64,
    ) -> anyhow::Result<Box<dyn BatchSource>> {
        Ok(match self {
            SplitFeatures::Disk(c, _) => Box::new(c.batches(batch_size, shuffle, seed)),
            SplitFeatures::Memory {
                features, targets, ..
            } => Box::new(
                TensorBatches::new(
                    features.shallow_clone(),
                    targets.shallow_clone(),
                    batch_size,
                    shuffle,
                )?
                .with_stream("feature_cache"),
            ),
        })
    }
}

impl Engine<'_> {
    /// `split`'s features on every rank of `group`: sent by rank 0 from its cache in `dir`
    /// when that was made by `key`, else extracted by `base` in shares and gathered (rank 0
    /// writes the cache).
    pub(super) fn shared_features(
        &self,
        group: &ProcessGroup,
        split: &str,
        mut folder: ImageFolder,
        dir: &Path,
        key: CacheKey,
        base: &Functional,
    ) -> anyhow::Result<SplitFeatures> {
        let main = group.rank() == 0;
        // Rank 0 says what it has, so every rank takes the same path (or stops with its error).
        let cache = if main {
            FeatureCache::open(dir, &key)
        } else {
            Ok(None)
        };
        let status = match &cache {
            Ok(Some(_)) => "cached".to_string(),
            Ok(None) => "extract".to_string(),
            Err(e) => format!("error: {e}"),
        };
        let status =
            String::from_utf8_lossy(&group.broadcast_bytes(status.as_bytes(), 0)?).into_owned();
        let cache = cache?;
        let all_paths: Vec<PathBuf> = folder.samples().iter().map(|s| s.path.clone()).collect();
        if let Some(reason) = status.strip_prefix("error: ") {
            anyhow::bail!("{split}: rank 0 cannot use its feature cache: {reason}");
        }
        if status == "cached" {
            let sent = match &cache {
                Some(c) => {
                    let (f, t) = c.read_all()?;
                    Some(vec![f, t])
                }
                None => None,
            };
            let got = group.broadcast_new(sent.as_deref(), 0)?;
            let [features, targets]: [Tensor; 2] = got
                .try_into()
                .map_err(|_| anyhow::anyhow!("{split}: rank 0 sent no features and targets"))?;
            if main {
                println!(
                    "{split}: reusing {} cached features (sent to {} ranks)",
                    features.size()[0],
                    group.world_size()
                );
            }
            return memory(features, targets, all_paths);
        }
        let started = std::time::Instant::now();
        let shard = Shard::evaluation(group.rank(), group.world_size())?;
        convkit_tensor::BatchSource::shard(&mut folder, shard)?;
        let (mut feats, mut targets) = (vec![], vec![]);
        {
            let mut source = self.source(folder.clone());
            for batch in source.epoch(0)? {
                let batch = batch?;
                let f = convkit_tensor::tch::no_grad(|| base.forward(&batch.inputs, false))?;
                feats.push(f.f_to_device(group.device())?);
                targets.push(batch.targets.f_to_device(group.device())?);
            }
        }
        // The listing positions this rank served: its share minus the files it skipped.
        let positions: Vec<usize> = (0..all_paths.len()).collect();
        let skipped = folder.skipped();
        let served: Vec<i64> = shard
            .select(&positions)
            .into_iter()
            .filter(|p| skipped.binary_search(p).is_err())
            .map(|p| p as i64)
            .collect();
        let local = |parts: &[Tensor]| -> anyhow::Result<Option<Tensor>> {
            Ok(if parts.is_empty() {
                None
            } else {
                Some(Tensor::f_cat(parts, 0)?)
            })
        };
        let (f, t) = (local(&feats)?, local(&targets)?);
        anyhow::ensure!(
            f.as_ref().map_or(0, |f| f.size()[0]) == served.len() as i64,
            "{split}: this rank extracted {} features for {} images",
            f.as_ref().map_or(0, |f| f.size()[0]),
            served.len()
        );
        let index = (!served.is_empty())
            .then(|| Tensor::f_from_slice(&served)?.f_to_device(group.device()))
            .transpose()?;
        let gathered = (
            group.all_gather_rows(f.as_ref())?,
            group.all_gather_rows(t.as_ref())?,
            group.all_gather_rows(index.as_ref())?,
        );
        let (Some(features), Some(targets), Some(index)) = gathered else {
            anyhow::bail!(
                "{split}: no rank could read any of its {} images",
                all_paths.len()
            );
        };
        // Rank order to listing order.
        let order = index.f_argsort(0, false)?;
        let index = index.f_index_select(0, &order)?.f_to_device(Device::Cpu)?;
        let features = features
            .f_index_select(0, &order)?
            .f_to_device(Device::Cpu)?;
        let targets = targets
            .f_index_select(0, &order)?
            .f_to_device(Device::Cpu)?;
        let paths: Vec<PathBuf> = Vec::<i64>::try_from(&index.f_to_kind(Kind::Int64)?)?
            .into_iter()
            .filter_map(|i| all_paths.get(i as usize).cloned())
            .collect();
        if main {
            let mut source = TensorBatches::new(
                features.shallow_clone(),
                targets.shallow_clone(),
                CACHE_SHARD,
                false,
            )?;
            let mut same = |x: &Tensor| -> convkit_data::Result<Tensor> { Ok(x.shallow_clone()) };
            FeatureCache::build(dir, key, &mut source, &mut same, CACHE_SHARD)?;
            println!(
                "{split}: extracted features {:?} of {} images on {} ranks in {:.1} s",
                features.size()[1..].to_vec(),
                features.size()[0],
                group.world_size(),
                started.elapsed().as_secs_f64()
            );
        }
        memory(features, targets, paths)
    }
}

fn memory(features: Tensor, targets: Tensor, paths: Vec<PathBuf>) -> anyhow::Result<SplitFeatures> {
    Ok(SplitFeatures::Memory {
        features,
        targets,
        paths,
    })
}
