//! `TensorBoard`: Keras' callback, writing event files TensorBoard reads — under
//! `log_dir/train` the epoch's training logs (`epoch_loss`, `epoch_accuracy`...,
//! `epoch_learning_rate`) and, every `update_freq` batches, `batch_loss` and the batch
//! metrics; under `log_dir/validation` the validation logs without their `val_` prefix; and
//! any images a caller renders each epoch (a confusion matrix...).

mod event_file;

use std::path::PathBuf;

pub use event_file::{EventWriter, SummaryValue};

use super::Callback;
use crate::models::model::Model;
use crate::training::{Logs, TrainingState};
use crate::Result;

/// An image for TensorBoard: PNG bytes and size.
#[derive(Debug, Clone)]
pub struct EncodedImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The PNG file.
    pub png: Vec<u8>,
}

/// Renders an image of the model after an epoch (`epoch` is 0-based).
pub type EpochImage = Box<dyn FnMut(usize, &dyn Model) -> Result<Option<EncodedImage>> + Send>;

/// Keras' `TensorBoard(log_dir, update_freq)`.
///
/// # Example
/// ```no_run
/// # use convkit_layers::prelude::*;
/// let options = FitOptions::new().epochs(10).callback(TensorBoard::new("logs").update_freq(50));
/// ```
pub struct TensorBoard {
    log_dir: PathBuf,
    update_freq: Option<usize>,
    train: Option<EventWriter>,
    validation: Option<EventWriter>,
    images: Vec<(String, EpochImage)>,
}

impl TensorBoard {
    /// Writes into `log_dir/train` and `log_dir/validation`, once per epoch.
    pub fn new(log_dir: impl Into<PathBuf>) -> Self {
        TensorBoard {
            log_dir: log_dir.into(),
            update_freq: None,
            train: None,
            validation: None,
            images: Vec::new(),
        }
    }

    /// Also writes the batch logs every `batches` batches (Keras' `update_freq=N`).
    pub fn update_freq(mut self, batches: usize) -> Self {
        self.update_freq = (batches > 0).then_some(batches);
        self
    }

    /// Writes the image `render` gives after every epoch under `tag` (in the validation run).
    pub fn epoch_image(mut self, tag: impl Into<String>, render: EpochImage) -> Self {
        self.images.push((tag.into(), render));
        self
    }
}

impl std::fmt::Debug for TensorBoard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TensorBoard")
            .field("log_dir", &self.log_dir)
            .field("update_freq", &self.update_freq)
            .finish()
    }
}

impl Callback for TensorBoard {
    fn rank_zero_only(&self) -> bool {
        true
    }

    fn on_train_begin(&mut self, _model: &mut dyn Model, _state: &mut TrainingState) -> Result<()> {
        self.train = Some(EventWriter::create(&self.log_dir.join("train"))?);
        self.validation = Some(EventWriter::create(&self.log_dir.join("validation"))?);
        Ok(())
    }

    fn wants_batch_logs(&self) -> bool {
        self.update_freq.is_some()
    }

    fn on_train_batch_end(
        &mut self,
        _step: usize,
        logs: &Logs,
        _model: &mut dyn Model,
        state: &mut TrainingState,
    ) -> Result<()> {
        let (Some(freq), Some(w)) = (self.update_freq, self.train.as_mut()) else {
            return Ok(());
        };
        let global = state.total_steps;
        if !global.is_multiple_of(freq) {
            return Ok(());
        }
        for (name, value) in &logs.0 {
            let tag = if name.starts_with("batch_") {
                name.clone()
            } else {
                format!("batch_{name}")
            };
            if tag == "batch_loss" && name == "loss" {
                // The running epoch mean; the batch's own loss comes as `batch_loss`.
                continue;
            }
            w.write(global as i64, &tag, &SummaryValue::Scalar(*value as f32))?;
        }
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &Logs,
        model: &mut dyn Model,
        _state: &mut TrainingState,
    ) -> Result<()> {
        let step = epoch as i64;
        for (name, value) in &logs.0 {
            let (writer, tag) = match name.strip_prefix("val_") {
                Some(rest) => (self.validation.as_mut(), format!("epoch_{rest}")),
                None => (self.train.as_mut(), format!("epoch_{name}")),
            };
            if let Some(w) = writer {
                w.write(step, &tag, &SummaryValue::Scalar(*value as f32))?;
            }
        }
        for (tag, render) in self.images.iter_mut() {
            if let (Some(img), Some(w)) = (render(epoch, &*model)?, self.validation.as_mut()) {
                w.write(
                    step,
                    tag,
                    &SummaryValue::Image {
                        width: img.width,
                        height: img.height,
                        png: &img.png,
                    },
                )?;
            }
        }
        Ok(())
    }
}
