//! [`FitOptions`]: Keras' keyword arguments of `fit`, and its [`Validation`] data.

use std::path::PathBuf;

use convkit_tensor::tch::Tensor;
use convkit_tensor::BatchSource;

use crate::training::callbacks::Callback;
use crate::training::class_weight::ClassWeight;
use crate::training::hooks::TrainingHook;
use crate::training::Verbosity;
use convkit_tensor::distributed::ProcessGroup;
use std::sync::Arc;

/// Samples per batch when none is given (Keras' `batch_size=None` in `fit`, `evaluate` and
/// `predict`).
pub const DEFAULT_BATCH_SIZE: usize = 32;

/// Validation data for `fit`.
#[derive(Default)]
pub enum Validation {
    /// No validation.
    #[default]
    None,
    /// Hold out the last fraction of `x`/`y` (before shuffling), as Keras' `validation_split`.
    Split(f64),
    /// Explicit validation tensors.
    Data(Tensor, Tensor),
    /// A batch source (an image folder...).
    Source(Box<dyn BatchSource>),
}

/// Options of `fit` (Keras' keyword arguments).
pub struct FitOptions {
    /// Samples per gradient step (in-memory data only; sources batch themselves).
    pub batch_size: usize,
    /// Index of the last epoch + 1.
    pub epochs: usize,
    /// Epoch to start from.
    pub initial_epoch: usize,
    /// Validation data.
    pub validation: Validation,
    /// Shuffle in-memory training data every epoch.
    pub shuffle: bool,
    /// Callbacks, called in order.
    pub callbacks: Vec<Box<dyn Callback>>,
    /// Progress display.
    pub verbose: Verbosity,
    /// Hooks into each training step (distributed training's gradient synchronisation).
    pub hooks: Vec<Box<dyn TrainingHook>>,
    /// Model directory the trained model is saved to when training ends, before the
    /// callbacks' `on_train_end` (so a `BackupAndRestore` backup goes only once it is
    /// complete). Checked for writing before the first epoch.
    pub save_to: Option<PathBuf>,
    /// Keras' `class_weight`: each training sample's loss and metrics scaled by its class's
    /// weight (single-output models).
    pub class_weight: Option<ClassWeight>,
    /// The process group of data-parallel training ([`FitOptions::distributed`]).
    pub distributed: Option<Arc<ProcessGroup>>,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            batch_size: DEFAULT_BATCH_SIZE,
            epochs: 1,
            initial_epoch: 0,
            validation: Validation::None,
            shuffle: true,
            callbacks: Vec::new(),
            verbose: Verbosity::Auto,
            hooks: Vec::new(),
            save_to: None,
            class_weight: None,
            distributed: None,
        }
    }
}

impl FitOptions {
    /// Keras' defaults: batch 32, 1 epoch, shuffle.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the batch size.
    pub fn batch_size(mut self, b: usize) -> Self {
        self.batch_size = b;
        self
    }
    /// Sets the number of epochs.
    pub fn epochs(mut self, e: usize) -> Self {
        self.epochs = e;
        self
    }
    /// Sets the first epoch.
    pub fn initial_epoch(mut self, e: usize) -> Self {
        self.initial_epoch = e;
        self
    }
    /// Holds out the last `fraction` of the data for validation.
    pub fn validation_split(mut self, fraction: f64) -> Self {
        self.validation = Validation::Split(fraction);
        self
    }
    /// Validates on `(x, y)` after every epoch.
    pub fn validation_data(mut self, x: Tensor, y: Tensor) -> Self {
        self.validation = Validation::Data(x, y);
        self
    }
    /// Validates on a batch source after every epoch.
    pub fn validation_source(mut self, s: impl BatchSource + 'static) -> Self {
        self.validation = Validation::Source(Box::new(s));
        self
    }
    /// Enables or disables shuffling.
    pub fn shuffle(mut self, s: bool) -> Self {
        self.shuffle = s;
        self
    }
    /// Adds a callback.
    pub fn callback(mut self, c: impl Callback + 'static) -> Self {
        self.callbacks.push(Box::new(c));
        self
    }
    /// Sets the progress display.
    pub fn verbose(mut self, v: Verbosity) -> Self {
        self.verbose = v;
        self
    }
    /// Trains data-parallel over `group`, as PyTorch's DDP: rank 0's initial weights on every
    /// rank, gradients averaged across ranks before each step, in-memory data sharded per rank
    /// (`DistributedSampler`'s rule; `batch_size` is per rank, so the global batch is
    /// `world_size` times it), progress shown and the model saved by rank 0 only.
    pub fn distributed(mut self, group: Arc<ProcessGroup>) -> Self {
        self.hooks
            .push(Box::new(crate::training::data_parallel::DataParallel::new(
                group.clone(),
            )));
        self.distributed = Some(group);
        self
    }

    /// Adds a training hook.
    pub fn hook(mut self, h: impl TrainingHook + 'static) -> Self {
        self.hooks.push(Box::new(h));
        self
    }
    /// Saves the trained model as the model directory `dir` when training ends (see
    /// [`crate::saving::save_model`]). Unlike a `save_model` after `fit`, the save comes before the
    /// callbacks' `on_train_end`, so the backup of a `BackupAndRestore` is removed only once
    /// the final model is complete: a run killed during the final save resumes from its
    /// backup. Whether `dir` can be written is checked before the first epoch.
    pub fn save_model_to(mut self, dir: impl Into<PathBuf>) -> Self {
        self.save_to = Some(dir.into());
        self
    }
    /// Scales each training sample's loss by its class's weight (Keras' `class_weight`).
    pub fn class_weight(mut self, weights: ClassWeight) -> Self {
        self.class_weight = Some(weights);
        self
    }
}
