//! Callbacks of `fit`, as in Keras: [`ModelCheckpoint`], [`BackupAndRestore`],
//! [`EarlyStopping`], [`CSVLogger`], [`TerminateOnNaN`], [`ReduceLROnPlateau`], [`TensorBoard`].

mod backup_and_restore;
mod backup_broadcast;
mod csv_logger;
mod early_stopping;
mod model_checkpoint;
mod monitor;
mod reduce_lr_on_plateau;
pub mod tensorboard;
mod terminate_on_nan;

pub use backup_and_restore::BackupAndRestore;
pub use csv_logger::CSVLogger;
pub use early_stopping::EarlyStopping;
pub use model_checkpoint::ModelCheckpoint;
pub use monitor::{Mode, Monitor};
pub use reduce_lr_on_plateau::ReduceLROnPlateau;
pub use tensorboard::{EncodedImage, TensorBoard};
pub use terminate_on_nan::TerminateOnNaN;

use crate::models::model::Model;
use crate::training::{Logs, TrainingState};
use crate::Result;

/// Hooks called by `fit`. Every method has an empty default.
#[allow(unused_variables)]
pub trait Callback: Send {
    /// Before the first epoch (a backup may be restored here by moving `state.epoch`).
    fn on_train_begin(&mut self, model: &mut dyn Model, state: &mut TrainingState) -> Result<()> {
        Ok(())
    }
    /// Before each epoch.
    fn on_epoch_begin(
        &mut self,
        epoch: usize,
        model: &mut dyn Model,
        state: &mut TrainingState,
    ) -> Result<()> {
        Ok(())
    }
    /// Whether only rank 0 of data-parallel training runs this callback (those that write
    /// files: checkpoints, logs, TensorBoard events). Callbacks that steer training
    /// (`EarlyStopping`, `ReduceLROnPlateau`) run on every rank, on the same global logs.
    fn rank_zero_only(&self) -> bool {
        false
    }
    /// Whether [`Callback::on_train_batch_end`] must be called after every batch (reading the
    /// loss forces a device sync, so `fit` only does it on request).
    fn wants_batch_logs(&self) -> bool {
        false
    }
    /// After a training batch, with running epoch averages and `batch_loss`.
    fn on_train_batch_end(
        &mut self,
        batch: usize,
        logs: &Logs,
        model: &mut dyn Model,
        state: &mut TrainingState,
    ) -> Result<()> {
        Ok(())
    }
    /// After each epoch, with the epoch's logs (including `val_*`).
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &Logs,
        model: &mut dyn Model,
        state: &mut TrainingState,
    ) -> Result<()> {
        Ok(())
    }
    /// After the last epoch (also when stopped early, not when `fit` fails).
    fn on_train_end(&mut self, model: &mut dyn Model, state: &mut TrainingState) -> Result<()> {
        Ok(())
    }
}
