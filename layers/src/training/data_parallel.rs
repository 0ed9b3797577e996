//! [`DataParallel`]: `fit` on several processes, as PyTorch's `DistributedDataParallel`:
//! rank 0's initial weights and buffers broadcast to every rank before the first step, and
//! after each backward pass the gradients averaged across ranks in coalesced buckets of about
//! 25 MB (DDP's `bucket_cap_mb`), so every rank takes the same optimizer step; each epoch's
//! training logs are averaged across ranks, so every rank logs the global numbers. With
//! [`FitOptions::distributed`](crate::training::FitOptions::distributed), in-memory data is
//! sharded per rank as `DistributedSampler` does.

use std::sync::Arc;

use convkit_tensor::distributed::ProcessGroup;
use convkit_tensor::tch::{self, Tensor};

use crate::models::model::Model;
use crate::training::hooks::TrainingHook;
use crate::training::{Logs, TrainingState};
use crate::{Error, Result};

/// DDP's default bucket size.
pub const DEFAULT_BUCKET_BYTES: usize = 25 << 20;

/// The training hook of data-parallel `fit` over `group`.
pub struct DataParallel {
    group: Arc<ProcessGroup>,
    bucket_bytes: usize,
}

fn dist_error(e: convkit_tensor::distributed::Error) -> Error {
    Error::Model {
        model: "data-parallel fit".into(),
        problem: e.to_string(),
    }
}

impl DataParallel {
    /// Synchronises training over `group`, in buckets of [`DEFAULT_BUCKET_BYTES`].
    pub fn new(group: Arc<ProcessGroup>) -> Self {
        DataParallel {
            group,
            bucket_bytes: DEFAULT_BUCKET_BYTES,
        }
    }

    /// All-reduces `tensors` to their mean, a bucket of about `bucket_bytes` at a time.
    fn average(&self, tensors: Vec<Tensor>) -> Result<()> {
        let mut bucket: Vec<Tensor> = Vec::new();
        let mut bytes = 0;
        for t in tensors {
            bytes += t.numel() * t.kind().elt_size_in_bytes();
            bucket.push(t);
            if bytes >= self.bucket_bytes {
                self.group
                    .all_reduce_mean(&mut bucket)
                    .map_err(dist_error)?;
                bucket.clear();
                bytes = 0;
            }
        }
        if !bucket.is_empty() {
            self.group
                .all_reduce_mean(&mut bucket)
                .map_err(dist_error)?;
        }
        Ok(())
    }
}

impl TrainingHook for DataParallel {
    fn on_train_begin(&mut self, model: &mut dyn Model, _state: &TrainingState) -> Result<()> {
        // Every weight and buffer (BatchNormalization's moving statistics) from rank 0.
        let mut tensors: Vec<Tensor> = model
            .named_params()
            .into_iter()
            .map(|(_, p)| p.tensor.shallow_clone())
            .collect();
        tch::no_grad(|| self.group.broadcast(&mut tensors, 0)).map_err(dist_error)
    }

    fn on_epoch_logs(&mut self, logs: &mut Logs) -> Result<()> {
        // Every rank saw as many samples (the shards are padded to equal size), so the mean of
        // the ranks' means is the mean over the global batch.
        let values: Vec<f64> = logs.0.iter().map(|(_, v)| *v).collect();
        let mut t = vec![Tensor::f_from_slice(&values)?];
        self.group.all_reduce_mean(&mut t).map_err(dist_error)?;
        let reduced = Vec::<f64>::try_from(&t[0])?;
        for ((_, v), r) in logs.0.iter_mut().zip(reduced) {
            *v = r;
        }
        Ok(())
    }

    fn after_backward(&mut self, trainable: &[Tensor]) -> Result<()> {
        // A weight without a gradient on this rank (not reached by its loss) takes part with
        // zeros, so every rank reduces the same tensors.
        let mut grads = Vec::with_capacity(trainable.len());
        for t in trainable {
            if !t.grad().defined() {
                // A zero gradient, through autograd (tch cannot assign `.grad`).
                t.f_mul_scalar(0.0)?.f_sum(t.kind())?.f_backward()?;
            }
            grads.push(t.grad());
        }
        tch::no_grad(|| self.average(grads))
    }
}
