//! `fit`: Keras' training loop.
//!
//! Determinism: every epoch re-seeds libtorch from (seed, epoch) and in-memory data is
//! shuffled from (seed, epoch), so epoch `k` does the same work whether the run started at
//! epoch 0 or resumed from a checkpoint of epoch `k - 1`.
//!
//! The loop ([`FitLoop`]) owns the callbacks, the [`TrainingHook`]s, the progress display and
//! the [`TrainingState`]; the compiled optimizer, losses and metrics stay in the model, which
//! callbacks receive with the state. Each step: zero the gradients, forward and loss, hooks'
//! `before_backward`, backward, hooks' `after_backward`, optimizer step, log accumulation.

use std::time::Instant;

use convkit_tensor::tch::Tensor;
use convkit_tensor::{seed, Batch, BatchSource, Shard, TensorBatches};

use crate::models::model::Model;
use crate::training::batch_loss::total_loss;
use crate::training::callbacks::Callback;
use crate::training::class_weight::ClassWeight;
use crate::training::epoch_totals::Totals;
use crate::training::evaluate::evaluate_source_on;
use crate::training::hooks::TrainingHook;
use crate::training::progress::Progress;
use crate::training::{
    compiled_of, compiled_of_mut, FitOptions, History, Logs, TrainingState, Validation,
};
use crate::{Error, Result};

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
    let mut source = TensorBatches::multi(train_x, train_y, options.batch_size, options.shuffle)?;
    fit_source(model, &mut source, options)
}

/// Trains on a batch source (an image folder, a feature cache...): Keras' `fit(dataset)`.
///
/// Data-parallel ([`FitOptions::distributed`]): `source` is split across the ranks
/// ([`BatchSource::shard`] with [`Shard::training`]), the validation data too, unpadded
/// ([`Shard::evaluation`]), and the epoch's training and validation sums are added across
/// ranks, so every rank logs the numbers of all samples; callbacks that write files
/// ([`Callback::rank_zero_only`]) run on rank 0 only.
pub fn fit_source(
    model: &mut dyn Model,
    source: &mut dyn BatchSource,
    mut options: FitOptions,
) -> Result<History> {
    compiled_of(model)?;
    convkit_tensor::allocator::keep_step_buffers_mapped();
    let mut validation = validation_source(
        model,
        std::mem::take(&mut options.validation),
        options.batch_size,
    )?;
    let group = options.distributed.clone();
    if let Some(g) = &group {
        source.shard(Shard::training(g.rank(), g.world_size())?)?;
        if let Some(v) = validation.as_mut() {
            v.shard(Shard::evaluation(g.rank(), g.world_size())?)?;
        }
    }
    let steps = source.batches_per_epoch();
    if steps == 0 {
        return Err(Error::Model {
            model: model.name().into(),
            problem: "fit: the training data holds no sample".into(),
        });
    }
    if let Some(dir) = &options.save_to {
        crate::saving::check_writable(dir)?;
    }
    if options.class_weight.is_some() && compiled_of(model)?.is_multi_output() {
        return Err(Error::Model {
            model: model.name().into(),
            problem: "fit: class_weight is only supported for models with one output (as in Keras)"
                .into(),
        });
    }
    let mut callbacks = std::mem::take(&mut options.callbacks);
    if group.as_ref().is_some_and(|g| g.rank() != 0) {
        // Rank 0 shows the progress, saves the model and writes the callbacks' files.
        options.verbose = crate::training::Verbosity::Silent;
        options.save_to = None;
        callbacks.retain(|c| !c.rank_zero_only());
    }
    let mut fit = FitLoop {
        save_to: options.save_to.take(),
        want_batch_logs: callbacks.iter().any(|c| c.wants_batch_logs()),
        progress: Progress::new(options.verbose, options.epochs, steps),
        state: TrainingState {
            epoch: options.initial_epoch,
            epochs: options.epochs,
            steps_per_epoch: steps,
            distributed: group,
            ..Default::default()
        },
        callbacks,
        hooks: std::mem::take(&mut options.hooks),
        class_weight: options.class_weight.take(),
        model,
    };
    fit.run(source, validation)
}

/// The validation data as a batch source (`Validation::Data` becomes one; a split is only
/// possible for in-memory data and was made by [`fit_multi`]).
fn validation_source(
    model: &dyn Model,
    validation: Validation,
    batch_size: usize,
) -> Result<Option<Box<dyn BatchSource>>> {
    match validation {
        Validation::None => Ok(None),
        Validation::Source(s) => Ok(Some(s)),
        Validation::Data(vx, vy) => Ok(Some(Box::new(TensorBatches::new(
            vx, vy, batch_size, false,
        )?))),
        Validation::Split(_) => Err(Error::Model {
            model: model.name().into(),
            problem: "fit: validation_split needs in-memory x and y; with a batch source \
                      give validation data or a validation source"
                .into(),
        }),
    }
}

/// A running `fit`: the model, what observes the training, and the state they share.
struct FitLoop<'m> {
    model: &'m mut dyn Model,
    callbacks: Vec<Box<dyn Callback>>,
    hooks: Vec<Box<dyn TrainingHook>>,
    progress: Progress,
    state: TrainingState,
    want_batch_logs: bool,
    save_to: Option<std::path::PathBuf>,
    class_weight: Option<ClassWeight>,
}

impl FitLoop<'_> {
    fn run(
        &mut self,
        source: &mut dyn BatchSource,
        mut validation: Option<Box<dyn BatchSource>>,
    ) -> Result<History> {
        for cb in self.callbacks.iter_mut() {
            cb.on_train_begin(self.model, &mut self.state)?;
        }
        for h in self.hooks.iter_mut() {
            h.on_train_begin(self.model, &self.state)?;
        }
        while self.state.epoch < self.state.epochs && !self.state.stop_training {
            let epoch = self.state.epoch;
            let started = Instant::now();
            seed::reseed_torch_for("fit-epoch", epoch as u64);
            for cb in self.callbacks.iter_mut() {
                cb.on_epoch_begin(epoch, self.model, &mut self.state)?;
            }
            for h in self.hooks.iter_mut() {
                h.on_epoch_begin(epoch, &self.state)?;
            }
            self.progress.epoch_begin(epoch);
            let mut logs = self.run_epoch(source, epoch)?;
            if self.state.stop_training && self.state.history.stop_reason.is_some() {
                // Stopped inside the epoch (TerminateOnNaN): the epoch is not recorded.
                break;
            }
            for h in self.hooks.iter_mut() {
                h.on_epoch_trained(self.model)?;
            }
            if let Some(val) = validation.as_mut() {
                let group = self.state.distributed.as_deref();
                let val_logs = evaluate_source_on(self.model, val.as_mut(), group)?;
                logs.extend_prefixed(&val_logs, "val_");
            }
            logs.set(
                "learning_rate",
                compiled_of(self.model)?.optimizer.learning_rate(),
            );
            self.progress.epoch_end(epoch, &logs);
            self.state
                .history
                .push(epoch, &logs, started.elapsed().as_secs_f64());
            for cb in self.callbacks.iter_mut() {
                cb.on_epoch_end(epoch, &logs, self.model, &mut self.state)?;
            }
            self.state.epoch += 1;
        }
        if let Some(dir) = &self.save_to {
            crate::saving::save_model(self.model, dir)?;
        }
        for cb in self.callbacks.iter_mut() {
            cb.on_train_end(self.model, &mut self.state)?;
        }
        Ok(std::mem::take(&mut self.state.history))
    }

    /// One training epoch; returns its logs.
    fn run_epoch(&mut self, source: &mut dyn BatchSource, epoch: usize) -> Result<Logs> {
        let device = self.model.device();
        let mut totals = Totals::new(compiled_of(self.model)?, device)?;
        for (step, batch) in source.epoch(epoch)?.enumerate() {
            self.state.step = step;
            let batch = batch?.to_device(device)?;
            let batch_loss = self.train_step(&batch, &mut totals)?;
            let show = self.progress.wants_update(step);
            if show || self.want_batch_logs {
                let mut logs = totals.logs(compiled_of(self.model)?)?;
                logs.set("batch_loss", batch_loss.f_double_value(&[])?);
                for cb in self.callbacks.iter_mut() {
                    cb.on_train_batch_end(step, &logs, self.model, &mut self.state)?;
                }
                if show {
                    logs.0.retain(|(n, _)| n != "batch_loss");
                    self.progress.batch_end(step, Some(&logs));
                }
            }
            if self.state.stop_training {
                break;
            }
        }
        if let Some(group) = &self.state.distributed {
            totals.all_reduce(group)?;
        }
        totals.logs(compiled_of(self.model)?)
    }

    /// One optimizer step on `batch`, added to `totals`; returns the batch's total loss (over
    /// all ranks when a hook reduced it).
    fn train_step(&mut self, batch: &Batch, totals: &mut Totals) -> Result<Tensor> {
        for p in compiled_of(self.model)?.trainable.iter() {
            zero_grad(p)?;
        }
        let compiled = compiled_of(self.model)?;
        let sample_weight = match &self.class_weight {
            Some(cw) => Some(cw.sample_weights(&batch.targets)?),
            None => None,
        };
        let (loss, preds) = total_loss(self.model, compiled, batch, true, sample_weight.as_ref())?;
        for h in self.hooks.iter_mut() {
            h.before_backward(self.model, &loss.total)?;
        }
        match compiled.loss_scale.as_ref().map(|s| s.scale()) {
            Some(scale) => loss.total.f_mul_scalar(scale)?.f_backward()?,
            None => loss.total.f_backward()?,
        }
        let compiled = compiled_of_mut(self.model)?;
        for h in self.hooks.iter_mut() {
            h.after_backward(&compiled.trainable)?;
        }
        let reduced = self.hooks.iter_mut().find_map(|h| h.reduced_batch_loss());
        // mixed_float16: the gradients unscaled, and the step skipped when one overflowed
        // (every rank decides alike: the averaged gradients are the same on all).
        let apply = match compiled.loss_scale.as_mut() {
            Some(s) => s.unscale(&compiled.trainable)?,
            None => true,
        };
        if apply {
            compiled.optimizer.step(&compiled.trainable)?;
        }
        totals.add(compiled, &loss, &batch.all_targets(), &preds, batch.len())?;
        self.state.total_steps += 1;
        Ok(reduced.unwrap_or(loss.total))
    }
}

/// Zeroes `param`'s gradient in place, if it has one: one operator (tch's `zero_grad` also
/// detaches, a second one, which only a gradient with a graph of its own needs; PyTorch's
/// `zero_grad(set_to_none=False)` does the same).
fn zero_grad(param: &Tensor) -> Result<()> {
    let mut grad = param.grad();
    if grad.defined() {
        if grad.requires_grad() {
            let _ = grad.f_detach_()?;
        }
        let _ = grad.f_zero_()?;
    }
    Ok(())
}
