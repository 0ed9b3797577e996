//! `fit` and `evaluate`: Keras' training loop.
//!
//! Determinism: every epoch re-seeds libtorch from (seed, epoch) and in-memory data is
//! shuffled from (seed, epoch), so epoch `k` does the same work whether the run started at
//! epoch 0 or resumed from a checkpoint of epoch `k - 1`.

use std::time::Instant;

use convkit_tensor::tch::{self, Kind, Tensor};
use convkit_tensor::{seed, BatchSource, TensorBatches};

use crate::callbacks::Callback;
use crate::metrics::Metric;
use crate::model::Model;
use crate::training::progress::Progress;
use crate::training::{Compiled, History, Logs, Verbosity};
use crate::{Error, Result};

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
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            batch_size: 32,
            epochs: 1,
            initial_epoch: 0,
            validation: Validation::None,
            shuffle: true,
            callbacks: Vec::new(),
            verbose: Verbosity::Auto,
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
}

/// The state of a running `fit`, shared with callbacks.
#[derive(Debug, Clone, Default)]
pub struct TrainingState {
    /// The next epoch to run (callbacks restoring a backup move it forward).
    pub epoch: usize,
    /// Index of the last epoch + 1.
    pub epochs: usize,
    /// Batches per epoch.
    pub steps_per_epoch: usize,
    /// The history so far.
    pub history: History,
    /// Set to stop after the current batch (`TerminateOnNaN`) or epoch (`EarlyStopping`).
    pub stop_training: bool,
}

fn not_compiled(model: &dyn Model) -> Error {
    Error::Model {
        model: model.name().into(),
        problem: "must be compiled before fit or evaluate: call compile(optimizer, loss, metrics)"
            .into(),
    }
}

/// Trains on in-memory `x` and `y` (Keras' `fit(x, y, ...)`).
pub fn fit(
    model: &mut dyn Model,
    x: &Tensor,
    y: &Tensor,
    mut options: FitOptions,
) -> Result<History> {
    let n = x.size().first().copied().unwrap_or(0);
    let (train_x, train_y) = match &options.validation {
        Validation::Split(f) => {
            if !(0.0..1.0).contains(f) {
                return Err(Error::Model {
                    model: model.name().into(),
                    problem: format!("validation_split must lie in [0, 1), got {f}"),
                });
            }
            let n_val = (n as f64 * f).floor() as i64;
            let n_train = n - n_val;
            if n_val > 0 {
                let val = TensorBatches::new(
                    x.f_narrow(0, n_train, n_val)?,
                    y.f_narrow(0, n_train, n_val)?,
                    options.batch_size,
                    false,
                )?;
                options.validation = Validation::Source(Box::new(val));
            } else {
                options.validation = Validation::None;
            }
            (x.f_narrow(0, 0, n_train)?, y.f_narrow(0, 0, n_train)?)
        }
        _ => (x.shallow_clone(), y.shallow_clone()),
    };
    // fit_source turns Validation::Data into a source
    let mut source = TensorBatches::new(train_x, train_y, options.batch_size, options.shuffle)?;
    fit_source(model, &mut source, options)
}

/// Running sums of the loss and metrics over an epoch (kept on the device; read rarely).
struct Totals {
    loss: Tensor,
    metrics: Vec<Tensor>,
    count: f64,
    metric_counts: Vec<f64>,
}

impl Totals {
    fn new(metrics: &[Metric], device: tch::Device) -> Result<Self> {
        let z = |shape: &[i64]| Tensor::f_zeros(shape, (Kind::Double, device));
        Ok(Totals {
            loss: z(&[])?,
            metrics: metrics
                .iter()
                .map(|m| match m {
                    Metric::MeanIoU(k) => z(&[*k, *k]),
                    _ => z(&[]),
                })
                .collect::<Result<_, _>>()?,
            count: 0.0,
            metric_counts: vec![0.0; metrics.len()],
        })
    }

    fn add(
        &mut self,
        compiled: &Compiled,
        loss: &Tensor,
        y: &Tensor,
        pred: &Tensor,
        n: usize,
    ) -> Result<()> {
        self.loss = self.loss.f_add(
            &loss
                .f_detach()?
                .f_to_kind(Kind::Double)?
                .f_mul_scalar(n as f64)?,
        )?;
        self.count += n as f64;
        tch::no_grad(|| -> Result<()> {
            for (i, m) in compiled.metrics.iter().enumerate() {
                if let Metric::MeanIoU(_) = m {
                    let c = m
                        .confusion(y, pred)?
                        .f_to_device(self.metrics[i].device())?;
                    self.metrics[i] = self.metrics[i].f_add(&c)?;
                    continue;
                }
                let v = m.per_sample(y, pred)?;
                self.metric_counts[i] += v.numel() as f64;
                self.metrics[i] = self.metrics[i].f_add(&v.f_sum(Kind::Double)?)?;
            }
            Ok(())
        })
    }

    fn logs(&self, compiled: &Compiled) -> Result<Logs> {
        let mut logs = Logs::default();
        for (i, name) in compiled.metric_names.iter().enumerate() {
            let value = match compiled.metrics[i] {
                Metric::MeanIoU(_) => Metric::mean_iou(&self.metrics[i])?,
                _ => self.metrics[i].f_double_value(&[])? / self.metric_counts[i].max(1.0),
            };
            logs.set(name, value);
        }
        logs.set("loss", self.loss.f_double_value(&[])? / self.count.max(1.0));
        Ok(logs)
    }
}

/// The loss of a batch as training minimises it: data loss plus regularization penalties.
fn total_loss(
    model: &dyn Model,
    compiled: &Compiled,
    x: &Tensor,
    y: &Tensor,
    training: bool,
) -> Result<(Tensor, Tensor)> {
    let (pred, activity) = model.forward_with_losses(x, training)?;
    let mut loss = compiled.loss.compute(y, &pred)?;
    if let Some(r) = model.regularization_loss()? {
        loss = loss.f_add(&r)?;
    }
    if let Some(a) = activity {
        loss = loss.f_add(&a)?;
    }
    Ok((loss, pred))
}

/// Trains on a batch source (an image folder, a feature cache...): Keras' `fit(dataset)`.
pub fn fit_source(
    model: &mut dyn Model,
    source: &mut dyn BatchSource,
    mut options: FitOptions,
) -> Result<History> {
    if model.compiled().is_none() {
        return Err(not_compiled(model));
    }
    match &options.validation {
        Validation::Data(vx, vy) => {
            let val = TensorBatches::new(
                vx.shallow_clone(),
                vy.shallow_clone(),
                options.batch_size,
                false,
            )?;
            options.validation = Validation::Source(Box::new(val));
        }
        Validation::Split(_) => {
            return Err(Error::Model {
                model: model.name().into(),
                problem: "fit: validation_split needs in-memory x and y; with a batch source \
                          give validation data or a validation source"
                    .into(),
            })
        }
        _ => {}
    }
    let steps = source.batches_per_epoch();
    if steps == 0 {
        return Err(Error::Model {
            model: model.name().into(),
            problem: "fit: the training data holds no sample".into(),
        });
    }
    let mut state = TrainingState {
        epoch: options.initial_epoch,
        epochs: options.epochs,
        steps_per_epoch: steps,
        ..Default::default()
    };
    let mut callbacks = std::mem::take(&mut options.callbacks);
    for cb in callbacks.iter_mut() {
        cb.on_train_begin(model, &mut state)?;
    }
    let want_batch_logs = callbacks.iter().any(|c| c.wants_batch_logs());
    let mut progress = Progress::new(options.verbose, options.epochs, steps);

    while state.epoch < options.epochs && !state.stop_training {
        let epoch = state.epoch;
        let started = Instant::now();
        seed::reseed_torch_for("fit-epoch", epoch as u64);
        for cb in callbacks.iter_mut() {
            cb.on_epoch_begin(epoch, model, &mut state)?;
        }
        progress.epoch_begin(epoch);
        let mut slot = Some(model.take_compiled().ok_or_else(|| not_compiled(model))?);
        let result = run_epoch(
            model,
            source,
            &mut slot,
            &mut callbacks,
            &mut state,
            &mut progress,
            epoch,
            want_batch_logs,
        );
        if let Some(c) = slot.take() {
            model.set_compiled(Some(c));
        }
        let mut logs = result?;
        if state.stop_training && state.history.stop_reason.is_some() {
            // Stopped inside the epoch (TerminateOnNaN): the epoch is not recorded.
            break;
        }
        if let Validation::Source(val) = &mut options.validation {
            let val_logs = evaluate_source(model, val.as_mut())?;
            logs.extend_prefixed(&val_logs, "val_");
        }
        if let Some(c) = model.compiled() {
            logs.set("learning_rate", c.optimizer.learning_rate());
        }
        progress.epoch_end(epoch, &logs);
        state
            .history
            .push(epoch, &logs, started.elapsed().as_secs_f64());
        for cb in callbacks.iter_mut() {
            cb.on_epoch_end(epoch, &logs, model, &mut state)?;
        }
        state.epoch += 1;
    }
    for cb in callbacks.iter_mut() {
        cb.on_train_end(model, &mut state)?;
    }
    Ok(state.history)
}

/// One training epoch. The compiled state travels in `slot` and is lent back to the model
/// while callbacks run (they may change the learning rate).
#[allow(clippy::too_many_arguments)]
fn run_epoch(
    model: &mut dyn Model,
    source: &mut dyn BatchSource,
    slot: &mut Option<Compiled>,
    callbacks: &mut [Box<dyn Callback>],
    state: &mut TrainingState,
    progress: &mut Progress,
    epoch: usize,
    want_batch_logs: bool,
) -> Result<Logs> {
    let device = model.device();
    let metrics: Vec<Metric> = slot.as_ref().map(|c| c.metrics.clone()).unwrap_or_default();
    let mut totals = Totals::new(&metrics, device)?;
    for (step, batch) in source.epoch(epoch)?.enumerate() {
        let batch = batch?.to_device(device)?;
        let compiled = slot.as_mut().ok_or_else(|| not_compiled(model))?;
        for p in compiled.trainable.iter_mut() {
            p.zero_grad();
        }
        let (loss, pred) = total_loss(model, compiled, &batch.inputs, &batch.targets, true)?;
        loss.f_backward()?;
        compiled.optimizer.step(&compiled.trainable)?;
        totals.add(compiled, &loss, &batch.targets, &pred, batch.len())?;
        let show = progress.wants_update(step);
        if show || want_batch_logs {
            let mut logs = totals.logs(compiled)?;
            logs.set("batch_loss", loss.f_double_value(&[])?);
            model.set_compiled(slot.take());
            let called: Result<()> = callbacks
                .iter_mut()
                .try_for_each(|cb| cb.on_train_batch_end(step, &logs, model, state));
            *slot = model.take_compiled();
            called?;
            if show {
                logs.0.retain(|(n, _)| n != "batch_loss");
                progress.batch_end(step, Some(&logs));
            }
        }
        if state.stop_training {
            break;
        }
    }
    let compiled = slot.as_ref().ok_or_else(|| not_compiled(model))?;
    totals.logs(compiled)
}

/// Loss and metrics over in-memory `x`, `y` (Keras' `evaluate`).
pub fn evaluate(model: &mut dyn Model, x: &Tensor, y: &Tensor, batch_size: usize) -> Result<Logs> {
    let mut source = TensorBatches::new(x.shallow_clone(), y.shallow_clone(), batch_size, false)?;
    evaluate_source(model, &mut source)
}

/// Loss and metrics over a batch source, in inference mode.
pub fn evaluate_source(model: &mut dyn Model, source: &mut dyn BatchSource) -> Result<Logs> {
    let compiled = model.take_compiled().ok_or_else(|| not_compiled(model))?;
    let result = tch::no_grad(|| -> Result<Logs> {
        let device = model.device();
        let mut totals = Totals::new(&compiled.metrics, device)?;
        for batch in source.epoch(0)? {
            let batch = batch?.to_device(device)?;
            let (loss, pred) = total_loss(model, &compiled, &batch.inputs, &batch.targets, false)?;
            totals.add(&compiled, &loss, &batch.targets, &pred, batch.len())?;
        }
        totals.logs(&compiled)
    });
    model.set_compiled(Some(compiled));
    result
}
