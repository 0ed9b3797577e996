//! `fit` and `evaluate`: Keras' training loop.
//!
//! Determinism: every epoch re-seeds libtorch from (seed, epoch) and in-memory data is
//! shuffled from (seed, epoch), so epoch `k` does the same work whether the run started at
//! epoch 0 or resumed from a checkpoint of epoch `k - 1`.

use std::time::Instant;

use convkit_tensor::tch::{self, Kind, Tensor};
use convkit_tensor::{seed, Batch, BatchSource, TensorBatches};

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
pub fn fit(model: &mut dyn Model, x: &Tensor, y: &Tensor, options: FitOptions) -> Result<History> {
    fit_multi(model, &[x.shallow_clone()], &[y.shallow_clone()], options)
}

/// Trains on in-memory tensors, one per model input (`xs`) and one per output (`ys`), all
/// with the same number of samples (Keras' `fit([x1, x2], [y1, y2], ...)`).
pub fn fit_multi(
    model: &mut dyn Model,
    xs: &[Tensor],
    ys: &[Tensor],
    mut options: FitOptions,
) -> Result<History> {
    let n = xs
        .first()
        .and_then(|x| x.size().first().copied())
        .unwrap_or(0);
    let narrow = |ts: &[Tensor], start: i64, len: i64| -> Result<Vec<Tensor>> {
        ts.iter().map(|t| Ok(t.f_narrow(0, start, len)?)).collect()
    };
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
                let val = TensorBatches::multi(
                    narrow(xs, n_train, n_val)?,
                    narrow(ys, n_train, n_val)?,
                    options.batch_size,
                    false,
                )?;
                options.validation = Validation::Source(Box::new(val));
            } else {
                options.validation = Validation::None;
            }
            (narrow(xs, 0, n_train)?, narrow(ys, 0, n_train)?)
        }
        _ => (narrow(xs, 0, n)?, narrow(ys, 0, n)?),
    };
    // fit_source turns Validation::Data into a source
    let mut source = TensorBatches::multi(train_x, train_y, options.batch_size, options.shuffle)?;
    fit_source(model, &mut source, options)
}

/// Running sums of one output's metrics over an epoch (kept on the device; read rarely).
struct OutputTotals {
    loss: Tensor,
    metrics: Vec<Tensor>,
    metric_counts: Vec<f64>,
}

/// Running sums of the loss and metrics over an epoch.
struct Totals {
    loss: Tensor,
    count: f64,
    outputs: Vec<OutputTotals>,
}

impl Totals {
    fn new(compiled: &Compiled, device: tch::Device) -> Result<Self> {
        let z = |shape: &[i64]| Tensor::f_zeros(shape, (Kind::Double, device));
        let outputs = compiled
            .outputs
            .iter()
            .map(|o| {
                Ok(OutputTotals {
                    loss: z(&[])?,
                    metrics: o
                        .metrics
                        .iter()
                        .map(|m| match m {
                            Metric::MeanIoU(k) => z(&[*k, *k]),
                            _ => z(&[]),
                        })
                        .collect::<Result<_, _>>()?,
                    metric_counts: vec![0.0; o.metrics.len()],
                })
            })
            .collect::<Result<_>>()?;
        Ok(Totals {
            loss: z(&[])?,
            count: 0.0,
            outputs,
        })
    }

    fn add(
        &mut self,
        compiled: &Compiled,
        loss: &BatchLoss,
        ys: &[&Tensor],
        preds: &[Tensor],
        n: usize,
    ) -> Result<()> {
        let weighted = |t: &Tensor| -> Result<Tensor> {
            Ok(t.f_detach()?
                .f_to_kind(Kind::Double)?
                .f_mul_scalar(n as f64)?)
        };
        self.loss = self.loss.f_add(&weighted(&loss.total)?)?;
        self.count += n as f64;
        tch::no_grad(|| -> Result<()> {
            for (k, out) in compiled.outputs.iter().enumerate() {
                let totals = &mut self.outputs[k];
                totals.loss = totals.loss.f_add(&weighted(&loss.per_output[k])?)?;
                for (i, m) in out.metrics.iter().enumerate() {
                    if let Metric::MeanIoU(_) = m {
                        let c = m
                            .confusion(ys[k], &preds[k])?
                            .f_to_device(totals.metrics[i].device())?;
                        totals.metrics[i] = totals.metrics[i].f_add(&c)?;
                        continue;
                    }
                    let v = m.per_sample(ys[k], &preds[k])?;
                    totals.metric_counts[i] += v.numel() as f64;
                    totals.metrics[i] = totals.metrics[i].f_add(&v.f_sum(Kind::Double)?)?;
                }
            }
            Ok(())
        })
    }

    fn logs(&self, compiled: &Compiled) -> Result<Logs> {
        let mut logs = Logs::default();
        let count = self.count.max(1.0);
        for (k, out) in compiled.outputs.iter().enumerate() {
            let totals = &self.outputs[k];
            for (i, m) in out.metrics.iter().enumerate() {
                let value = match m {
                    Metric::MeanIoU(_) => Metric::mean_iou(&totals.metrics[i])?,
                    _ => totals.metrics[i].f_double_value(&[])? / totals.metric_counts[i].max(1.0),
                };
                logs.set(&compiled.metric_log_name(k, i), value);
            }
        }
        if compiled.is_multi_output() {
            for (k, out) in compiled.outputs.iter().enumerate() {
                let value = self.outputs[k].loss.f_double_value(&[])? / count;
                logs.set(&format!("{}_loss", out.name), value);
            }
        }
        logs.set("loss", self.loss.f_double_value(&[])? / count);
        Ok(logs)
    }
}

/// The loss of a batch: the total that training minimises (weighted data losses plus
/// regularization penalties) and each output's unweighted data loss.
struct BatchLoss {
    total: Tensor,
    per_output: Vec<Tensor>,
}

/// The loss of a batch as training minimises it, and the predictions.
fn total_loss(
    model: &dyn Model,
    compiled: &Compiled,
    batch: &Batch,
    training: bool,
) -> Result<(BatchLoss, Vec<Tensor>)> {
    let (preds, activity) = model.forward_many_with_losses(&batch.all_inputs(), training)?;
    let ys = batch.all_targets();
    if ys.len() != compiled.outputs.len() || preds.len() != compiled.outputs.len() {
        return Err(Error::Model {
            model: model.name().into(),
            problem: format!(
                "{} outputs compiled, the model gave {} and the batch holds {} targets",
                compiled.outputs.len(),
                preds.len(),
                ys.len()
            ),
        });
    }
    let mut per_output = Vec::with_capacity(preds.len());
    let mut loss: Option<Tensor> = None;
    for ((out, y), pred) in compiled.outputs.iter().zip(&ys).zip(&preds) {
        let l = out.loss.compute(y, pred)?;
        let w = if out.weight == 1.0 {
            l.shallow_clone()
        } else {
            l.f_mul_scalar(out.weight)?
        };
        loss = Some(match loss {
            Some(t) => t.f_add(&w)?,
            None => w,
        });
        per_output.push(l);
    }
    let mut loss = loss.ok_or_else(|| not_compiled(model))?;
    if let Some(r) = model.regularization_loss()? {
        loss = loss.f_add(&r)?;
    }
    if let Some(a) = activity {
        loss = loss.f_add(&a)?;
    }
    Ok((
        BatchLoss {
            total: loss,
            per_output,
        },
        preds,
    ))
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
    let mut totals = Totals::new(slot.as_ref().ok_or_else(|| not_compiled(model))?, device)?;
    for (step, batch) in source.epoch(epoch)?.enumerate() {
        let batch = batch?.to_device(device)?;
        let compiled = slot.as_mut().ok_or_else(|| not_compiled(model))?;
        for p in compiled.trainable.iter_mut() {
            p.zero_grad();
        }
        let (loss, preds) = total_loss(model, compiled, &batch, true)?;
        loss.total.f_backward()?;
        compiled.optimizer.step(&compiled.trainable)?;
        totals.add(compiled, &loss, &batch.all_targets(), &preds, batch.len())?;
        let show = progress.wants_update(step);
        if show || want_batch_logs {
            let mut logs = totals.logs(compiled)?;
            logs.set("batch_loss", loss.total.f_double_value(&[])?);
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
        let mut totals = Totals::new(&compiled, device)?;
        for batch in source.epoch(0)? {
            let batch = batch?.to_device(device)?;
            let (loss, preds) = total_loss(model, &compiled, &batch, false)?;
            totals.add(&compiled, &loss, &batch.all_targets(), &preds, batch.len())?;
        }
        totals.logs(&compiled)
    });
    model.set_compiled(Some(compiled));
    result
}
