//! [`DataParallel`]: `fit` on several processes, as PyTorch's `DistributedDataParallel`:
//! rank 0's initial weights and buffers broadcast to every rank before the first step, and
//! after each backward pass the gradients averaged across ranks in coalesced buckets of about
//! 25 MB (DDP's `bucket_cap_mb`), so every rank takes the same optimizer step; the batch's
//! loss rides with the last bucket (every rank's callbacks see the global batch loss), and
//! after each epoch's training the buffers (BatchNormalization's moving statistics, which
//! followed each rank's own batches) are rank 0's again, as DDP's `broadcast_buffers`, before
//! validation and checkpoints. With
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
    /// This step's loss (a copy), all-reduced with the last bucket of gradients.
    loss: Option<Tensor>,
}

impl DataParallel {
    /// Synchronises training over `group`, in buckets of [`DEFAULT_BUCKET_BYTES`].
    pub fn new(group: Arc<ProcessGroup>) -> Self {
        DataParallel {
            group,
            bucket_bytes: DEFAULT_BUCKET_BYTES,
            loss: None,
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

    fn on_epoch_trained(&mut self, model: &mut dyn Model) -> Result<()> {
        // Each rank's moving statistics followed its own batches: rank 0's for everyone.
        let mut buffers: Vec<Tensor> = model
            .named_params()
            .into_iter()
            .filter(|(_, p)| !p.trainable)
            .map(|(_, p)| p.tensor.shallow_clone())
            .collect();
        if buffers.is_empty() {
            return Ok(());
        }
        tch::no_grad(|| self.group.broadcast(&mut buffers, 0))
            .map_err(|e| Error::distributed("broadcasting rank 0's buffers", e))
    }

    fn before_backward(&mut self, _model: &dyn Model, loss: &Tensor) -> Result<()> {
        // A copy of its own (the epoch's totals keep the local loss).
        let copy = loss
            .f_detach()?
            .f_reshape([1])?
            .f_to_kind(tch::Kind::Float)?;
        self.loss = Some(copy.f_mul_scalar(1.0)?.f_to_device(self.group.device())?);
        Ok(())
    }

    fn reduced_batch_loss(&mut self) -> Option<Tensor> {
        self.loss.take().and_then(|l| l.f_reshape([]).ok())
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
        // The loss rides with the last bucket: every rank gets the global batch loss.
        if let Some(loss) = &self.loss {
            grads.push(loss.shallow_clone());
        }
        tch::no_grad(|| self.average(grads))
    }
}
