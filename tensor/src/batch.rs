//! Batches: what data loaders yield and training loops consume.

use rand::seq::SliceRandom;
use tch::Tensor;

use crate::{seed, Error, Result};

/// One mini-batch: inputs (NCHW images or any `(N, ...)` tensor) and their targets.
#[derive(Debug)]
pub struct Batch {
    /// Model inputs, batch dimension first.
    pub inputs: Tensor,
    /// Targets, batch dimension first (class indices, one-hot rows, masks...).
    pub targets: Tensor,
}

impl Batch {
    /// Number of samples in the batch.
    pub fn len(&self) -> usize {
        self.inputs.size().first().copied().unwrap_or(0).max(0) as usize
    }

    /// Whether the batch holds no sample.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Moves both tensors to `device`.
    pub fn to_device(self, device: tch::Device) -> Result<Batch> {
        Ok(Batch {
            inputs: self.inputs.f_to_device(device)?,
            targets: self.targets.f_to_device(device)?,
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
}

/// In-memory tensors served in batches, shuffled per epoch from the seed (Keras' `fit(x, y)`).
#[derive(Debug)]
pub struct TensorBatches {
    x: Tensor,
    y: Tensor,
    batch_size: usize,
    shuffle: bool,
    stream: String,
}

impl TensorBatches {
    /// Serves `x` and `y` (same first dimension) in batches of `batch_size`.
    pub fn new(x: Tensor, y: Tensor, batch_size: usize, shuffle: bool) -> Result<Self> {
        let nx = x.size().first().copied().unwrap_or(0);
        let ny = y.size().first().copied().unwrap_or(-1);
        if nx != ny {
            return Err(Error::Shape {
                what: "targets".into(),
                expected: format!("{nx} samples, as many as the inputs"),
                actual: y.size(),
            });
        }
        if batch_size == 0 {
            return Err(Error::Invalid("batch_size must be at least 1".into()));
        }
        Ok(TensorBatches {
            x,
            y,
            batch_size,
            shuffle,
            stream: "shuffle".into(),
        })
    }

    /// Names the random stream used for shuffling (two sources with different names shuffle
    /// independently under the same seed).
    pub fn with_stream(mut self, stream: impl Into<String>) -> Self {
        self.stream = stream.into();
        self
    }

    /// The order in which samples are served in `epoch`.
    pub fn order(&self, epoch: usize) -> Vec<i64> {
        let n = self.num_samples() as i64;
        let mut idx: Vec<i64> = (0..n).collect();
        if self.shuffle {
            idx.shuffle(&mut seed::rng_for(&self.stream, epoch as u64));
        }
        idx
    }
}

impl BatchSource for TensorBatches {
    fn num_samples(&self) -> usize {
        self.x.size().first().copied().unwrap_or(0).max(0) as usize
    }

    fn batches_per_epoch(&self) -> usize {
        self.num_samples().div_ceil(self.batch_size)
    }

    fn epoch(&mut self, epoch: usize) -> Result<Box<dyn Iterator<Item = Result<Batch>> + '_>> {
        let order = self.order(epoch);
        let bs = self.batch_size;
        let shuffle = self.shuffle;
        let it = order
            .chunks(bs)
            .map(|c| c.to_vec())
            .collect::<Vec<_>>()
            .into_iter()
            .enumerate()
            .map(move |(i, chunk)| {
                if shuffle {
                    let index = Tensor::f_from_slice(&chunk)?.f_to_device(self.x.device())?;
                    Ok(Batch {
                        inputs: self.x.f_index_select(0, &index)?,
                        targets: self
                            .y
                            .f_index_select(0, &index.f_to_device(self.y.device())?)?,
                    })
                } else {
                    let start = (i * bs) as i64;
                    let len = chunk.len() as i64;
                    Ok(Batch {
                        inputs: self.x.f_narrow(0, start, len)?,
                        targets: self.y.f_narrow(0, start, len)?,
                    })
                }
            });
        Ok(Box::new(it))
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
