//! [`TrainingHook`]: the places in `fit`'s loop where distributed training plugs in, as
//! PyTorch's DDP does around its `Reducer`.
//!
//! Callbacks see epochs and batches; a hook sees each training step: the start of training
//! (broadcast the initial weights from rank 0), the start of each epoch (set the sampler's
//! epoch), the moment before backward (the Reducer's prepare step) and the moment after
//! backward, before the optimizer step (all-reduce the gradients).

use convkit_tensor::tch::Tensor;

use crate::models::model::Model;
use crate::training::TrainingState;
use crate::Result;

/// Hooks around each training step of `fit`. Every method has an empty default.
#[allow(unused_variables)]
pub trait TrainingHook: Send {
    /// Before the first epoch, after callbacks' `on_train_begin` (a restored backup is in
    /// place): the moment to broadcast the initial weights.
    fn on_train_begin(&mut self, model: &mut dyn Model, state: &TrainingState) -> Result<()> {
        Ok(())
    }
    /// Before each epoch's first batch is drawn.
    fn on_epoch_begin(&mut self, epoch: usize, state: &TrainingState) -> Result<()> {
        Ok(())
    }
    /// After the forward pass, before `loss.backward()`.
    fn before_backward(&mut self, model: &dyn Model, loss: &Tensor) -> Result<()> {
        Ok(())
    }
    /// After `loss.backward()`, before the optimizer step: `trainable` holds the tensors the
    /// optimizer updates, their gradients filled in.
    fn after_backward(&mut self, trainable: &[Tensor]) -> Result<()> {
        Ok(())
    }
    /// After an epoch's last training step, before validation and the callbacks: the moment
    /// to make the model's buffers (BatchNormalization's moving statistics) rank 0's, as DDP's
    /// `broadcast_buffers`, so that every rank validates and checkpoints the same model.
    fn on_epoch_trained(&mut self, model: &mut dyn Model) -> Result<()> {
        Ok(())
    }
    /// After `after_backward`: the batch's loss over all ranks, when the hook computed it
    /// (data-parallel: the mean of the ranks' losses, all-reduced with the gradients), which
    /// callbacks then see as `batch_loss`, so that every rank's `TerminateOnNaN` stops at the
    /// same step.
    fn reduced_batch_loss(&mut self) -> Option<Tensor> {
        None
    }
}
