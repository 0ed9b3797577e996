//! Batches: what data loaders yield and training loops consume.

use rand::seq::SliceRandom;
use tch::Tensor;

use crate::{seed, Error, Result, Shard};

/// One mini-batch: inputs (NCHW images or any `(N, ...)` tensor) and their targets. Models
/// with several inputs or outputs get the first in `inputs` / `targets` and the others, in
/// order, in `more_inputs` / `more_targets` (empty for one input and one output).
#[derive(Debug)]
pub struct Batch {
    /// Model inputs, batch dimension first.
    pub inputs: Tensor,
    /// Targets, batch dimension first (class indices, one-hot rows, masks...).
    pub targets: Tensor,
    /// Inputs after the first, for models with several inputs.
    pub more_inputs: Vec<Tensor>,
    /// Targets after the first, for models with several outputs.
    pub more_targets: Vec<Tensor>,
}

impl Batch {
    /// A batch of one input and one target.
    pub fn new(inputs: Tensor, targets: Tensor) -> Batch {
        Batch {
            inputs,
            targets,
            more_inputs: Vec::new(),
            more_targets: Vec::new(),
        }
    }

    /// A batch of several inputs and targets (at least one of each).
    pub fn multi(inputs: Vec<Tensor>, targets: Vec<Tensor>) -> Result<Batch> {
        let (mut inputs, mut targets) = (inputs.into_iter(), targets.into_iter());
        match (inputs.next(), targets.next()) {
            (Some(x), Some(y)) => Ok(Batch {
                inputs: x,
                targets: y,
                more_inputs: inputs.collect(),
                more_targets: targets.collect(),
            }),
            _ => Err(Error::Invalid(
                "a batch needs at least one input and one target".into(),
            )),
        }
    }

    /// Every input, in order.
    pub fn all_inputs(&self) -> Vec<&Tensor> {
        std::iter::once(&self.inputs)
            .chain(&self.more_inputs)
            .collect()
    }

    /// Every target, in order.
    pub fn all_targets(&self) -> Vec<&Tensor> {
        std::iter::once(&self.targets)
            .chain(&self.more_targets)
            .collect()
    }

    /// Number of samples in the batch.
    pub fn len(&self) -> usize {
        self.inputs.size().first().copied().unwrap_or(0).max(0) as usize
    }

    /// Whether the batch holds no sample.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Moves every tensor to `device`.
    pub fn to_device(self, device: tch::Device) -> Result<Batch> {
        let move_all = |ts: Vec<Tensor>| -> Result<Vec<Tensor>> {
            ts.into_iter().map(|t| Ok(t.f_to_device(device)?)).collect()
        };
        Ok(Batch {
            inputs: self.inputs.f_to_device(device)?,
            targets: self.targets.f_to_device(device)?,
            more_inputs: move_all(self.more_inputs)?,
            more_targets: move_all(self.more_targets)?,
        })
    }
}

/// A source of batches, epoch after epoch (an in-memory dataset, an image folder, a cache...).
pub trait BatchSource {
    /// Number of samples in one epoch.
    fn num_samples(&self) -> usize;

    /// Number of batches in one epoch.
    fn batches_per_epoch(&self) -> usize;

    /// The batches of epoch `epoch` (0-based). The order may depend on the epoch and on the
    /// seed ([`crate::seed`]), never on earlier calls, so a resumed run sees the same batches.
    fn epoch(&mut self, epoch: usize) -> Result<Box<dyn Iterator<Item = Result<Batch>> + '_>>;

    /// Serves from now on only `shard`'s share of every epoch (data-parallel training and
    /// evaluation; [`Shard`]); [`BatchSource::num_samples`] and
    /// [`BatchSource::batches_per_epoch`] then count this rank's share. Replaces an earlier
    /// shard. Sources that cannot be sharded say so.
    fn shard(&mut self, shard: Shard) -> Result<()> {
        let _ = shard;
        Err(Error::Invalid(
            "this batch source cannot be split across ranks (implement BatchSource::shard)".into(),
        ))
    }
}

/// In-memory tensors served in batches, shuffled per epoch from the seed (Keras' `fit(x, y)`).
#[derive(Debug)]
pub struct TensorBatches {
    xs: Vec<Tensor>,
    ys: Vec<Tensor>,
    batch_size: usize,
    shuffle: bool,
    stream: String,
    /// This rank's share when split across ranks ([`BatchSource::shard`]).
    shard: Option<Shard>,
}

impl TensorBatches {
    /// Serves `x` and `y` (same first dimension) in batches of `batch_size`.
    pub fn new(x: Tensor, y: Tensor, batch_size: usize, shuffle: bool) -> Result<Self> {
        Self::multi(vec![x], vec![y], batch_size, shuffle)
    }

    /// Serves several inputs and targets (a model with several inputs or outputs), all with
    /// the same first dimension, in batches of `batch_size`.
    pub fn multi(
        xs: Vec<Tensor>,
        ys: Vec<Tensor>,
        batch_size: usize,
        shuffle: bool,
    ) -> Result<Self> {
        let Some(first) = xs.first() else {
            return Err(Error::Invalid("no input tensor given".into()));
        };
        if ys.is_empty() {
            return Err(Error::Invalid("no target tensor given".into()));
        }
        let nx = first.size().first().copied().unwrap_or(0);
        for (what, t) in xs
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, t)| (format!("input {i}"), t))
            .chain(ys.iter().enumerate().map(|(i, t)| {
                let what = if i == 0 {
                    "targets".to_string()
                } else {
                    format!("targets {i}")
                };
                (what, t)
            }))
        {
            if t.size().first().copied().unwrap_or(-1) != nx {
                return Err(Error::Shape {
                    what,
                    expected: format!("{nx} samples, as many as the inputs"),
                    actual: t.size(),
                });
            }
        }
        if batch_size == 0 {
            return Err(Error::Invalid("batch_size must be at least 1".into()));
        }
        Ok(TensorBatches {
            xs,
            ys,
            batch_size,
            shuffle,
            stream: "shuffle".into(),
            shard: None,
        })
    }

    /// Names the random stream used for shuffling (two sources with different names shuffle
    /// independently under the same seed).
    pub fn with_stream(mut self, stream: impl Into<String>) -> Self {
        self.stream = stream.into();
        self
    }

    /// Serves only rank `rank`'s training share of `world_size` ranks, as PyTorch's
    /// `DistributedSampler` (with `drop_last=False`; [`Shard::training`]): every epoch's
    /// order is the one all ranks compute from the seed, padded from its start to a multiple
    /// of `world_size`, and rank `r` takes its positions `r, r + world_size, ...`. So every
    /// rank runs as many steps, and `world_size` ranks at batch `B` together see the samples
    /// of one process at batch `world_size * B`.
    pub fn sharded(mut self, rank: usize, world_size: usize) -> Result<Self> {
        BatchSource::shard(&mut self, Shard::training(rank, world_size)?)?;
        Ok(self)
    }

    /// The samples of all ranks, before sharding.
    fn all_samples(&self) -> usize {
        self.xs[0].size().first().copied().unwrap_or(0).max(0) as usize
    }

    /// The order in which this source's samples are served in `epoch` (its rank's share when
    /// sharded).
    pub fn order(&self, epoch: usize) -> Vec<i64> {
        let n = self.all_samples() as i64;
        let mut idx: Vec<i64> = (0..n).collect();
        if self.shuffle {
            idx.shuffle(&mut seed::rng_for(&self.stream, epoch as u64));
        }
        match self.shard {
            Some(shard) => shard.select(&idx),
            None => idx,
        }
    }
}

impl BatchSource for TensorBatches {
    fn num_samples(&self) -> usize {
        match self.shard {
            Some(shard) => shard.len_of(self.all_samples()),
            None => self.all_samples(),
        }
    }

    fn batches_per_epoch(&self) -> usize {
        self.num_samples().div_ceil(self.batch_size)
    }

    fn epoch(&mut self, epoch: usize) -> Result<Box<dyn Iterator<Item = Result<Batch>> + '_>> {
        let order = self.order(epoch);
        let bs = self.batch_size;
        let shuffle = self.shuffle;
        let sharded = self.shard.is_some();
        let it = order
            .chunks(bs)
            .map(|c| c.to_vec())
            .collect::<Vec<_>>()
            .into_iter()
            .enumerate()
            .map(move |(i, chunk)| {
                let take = |t: &Tensor| -> Result<Tensor> {
                    if shuffle || sharded {
                        let index = Tensor::f_from_slice(&chunk)?.f_to_device(t.device())?;
                        Ok(t.f_index_select(0, &index)?)
                    } else {
                        Ok(t.f_narrow(0, (i * bs) as i64, chunk.len() as i64)?)
                    }
                };
                let xs = self.xs.iter().map(take).collect::<Result<Vec<_>>>()?;
                let ys = self.ys.iter().map(take).collect::<Result<Vec<_>>>()?;
                Batch::multi(xs, ys)
            });
        Ok(Box::new(it))
    }

    fn shard(&mut self, shard: Shard) -> Result<()> {
        self.shard = (shard.world_size() > 1).then_some(shard);
        Ok(())
    }
}

/// A batch source whose batches pass through a function (e.g. u8 images to scaled floats and
/// labels to one-hot rows, batch by batch, so the dataset stays compact in memory).
pub struct MapBatches<S, F> {
    inner: S,
    f: F,
}

impl<S: BatchSource, F: FnMut(Batch) -> Result<Batch>> MapBatches<S, F> {
    /// Applies `f` to every batch of `inner`.
    pub fn new(inner: S, f: F) -> Self {
        MapBatches { inner, f }
    }
}

impl<S: BatchSource, F: FnMut(Batch) -> Result<Batch>> BatchSource for MapBatches<S, F> {
    fn num_samples(&self) -> usize {
        self.inner.num_samples()
    }
    fn batches_per_epoch(&self) -> usize {
        self.inner.batches_per_epoch()
    }
    fn epoch(&mut self, epoch: usize) -> Result<Box<dyn Iterator<Item = Result<Batch>> + '_>> {
        let f = &mut self.f;
        let it = self.inner.epoch(epoch)?;
        Ok(Box::new(it.map(move |b| b.and_then(&mut *f))))
    }
    fn shard(&mut self, shard: Shard) -> Result<()> {
        self.inner.shard(shard)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    #[test]
    fn serves_every_sample_once_per_epoch_in_a_seeded_order() {
        seed::set_seed(3);
        let x = Tensor::arange(10, (Kind::Float, tch::Device::Cpu)).view([10, 1]);
        let y = Tensor::arange(10, (Kind::Int64, tch::Device::Cpu));
        let mut src = TensorBatches::new(x, y, 4, true).unwrap();
        assert_eq!(src.batches_per_epoch(), 3);
        let mut seen: Vec<i64> = vec![];
        for b in src.epoch(0).unwrap() {
            let b = b.unwrap();
            seen.extend(Vec::<i64>::try_from(&b.targets).unwrap());
        }
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        assert_eq!(src.order(0), seen);
        assert_eq!(src.order(0), src.order(0));
        assert_ne!(src.order(0), src.order(1));
    }

    #[test]
    fn mismatched_lengths_are_an_error() {
        let x = Tensor::zeros([5, 2], (Kind::Float, tch::Device::Cpu));
        let y = Tensor::zeros([4], (Kind::Float, tch::Device::Cpu));
        let e = TensorBatches::new(x, y, 2, false).unwrap_err().to_string();
        assert!(e.contains("5 samples"), "{e}");
    }
}
