//! [`DataParallel`]: `fit` on several processes, as PyTorch's `DistributedDataParallel`:
//! rank 0's initial weights and buffers broadcast to every rank before the first step, and
//! after each backward pass the gradients averaged across ranks in coalesced buckets of about
//! 25 MB (DDP's `bucket_cap_mb`), so every rank takes the same optimizer step. With
//! [`FitOptions::distributed`](crate::training::FitOptions::distributed), `fit` also splits
//! the data per rank as `DistributedSampler` does and adds the epoch's sums across ranks.

use std::sync::Arc;

use convkit_tensor::distributed::ProcessGroup;
use convkit_tensor::tch::{self, Tensor};

use crate::models::model::Model;
use crate::training::hooks::TrainingHook;
use crate::training::TrainingState;
use crate::{Error, Result};

/// DDP's default bucket size.
pub const DEFAULT_BUCKET_BYTES: usize = 25 << 20;

/// The training hook of data-parallel `fit` over `group`.
pub struct DataParallel {
    group: Arc<ProcessGroup>,
    bucket_bytes: usize,
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
                    .map_err(|e| Error::distributed("averaging the gradients", e))?;
                bucket.clear();
                bytes = 0;
            }
        }
        if !bucket.is_empty() {
            self.group
                .all_reduce_mean(&mut bucket)
                .map_err(|e| Error::distributed("averaging the gradients", e))?;
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
        tch::no_grad(|| self.group.broadcast(&mut tensors, 0))
            .map_err(|e| Error::distributed("broadcasting rank 0's weights", e))
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
