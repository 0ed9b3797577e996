//! `compile`: attaches an optimizer, losses and metrics to a model; one loss per output
//! with Keras' `loss_weights` for models with several outputs.

use convkit_optim::Optimizer;

use crate::models::model::Model;
use crate::training::compiled::{Compiled, CompiledOutput, OutputLoss};
use crate::training::loss_scale::LossScale;
use crate::training::losses::Loss;
use crate::training::metrics::Metric;
use crate::{Error, Result};

/// Compiles `model`: the optimizer will update the parameters that are trainable now. A
/// model with several outputs gets `loss` and `metrics` on each (Keras' single loss).
pub fn compile(
    model: &mut dyn Model,
    optimizer: Box<dyn Optimizer>,
    loss: Loss,
    metrics: &[Metric],
) -> Result<()> {
    let n = model.output_names().len().max(1);
    let outputs = vec![OutputLoss::new(loss).metrics(metrics); n];
    compile_outputs(model, optimizer, outputs)
}

/// Compiles `model` with one [`OutputLoss`] per output (Keras' lists of `loss`,
/// `loss_weights` and `metrics`); the training loss is the weighted sum.
pub fn compile_outputs(
    model: &mut dyn Model,
    optimizer: Box<dyn Optimizer>,
    outputs: Vec<OutputLoss>,
) -> Result<()> {
    if model.output_shape().is_none() || model.input_shape().is_none() {
        return Err(Error::Model {
            model: model.name().into(),
            problem: "cannot compile a model that is not built: give the first layer an input_shape(...) or call build(shape)".into(),
        });
    }
    let names = model.output_names();
    if outputs.len() != names.len() {
        return Err(Error::Model {
            model: model.name().into(),
            problem: format!(
                "compile: {} losses given for {} outputs ({})",
                outputs.len(),
                names.len(),
                names.join(", ")
            ),
        });
    }
    if let Some((i, o)) = outputs
        .iter()
        .enumerate()
        .find(|(_, o)| !o.weight.is_finite() || o.weight < 0.0)
    {
        return Err(Error::Model {
            model: model.name().into(),
            problem: format!(
                "compile: loss weight of output '{}' must be finite and >= 0, got {}",
                names[i], o.weight
            ),
        });
    }
    let outputs = outputs
        .into_iter()
        .zip(names)
        .map(|(o, name)| CompiledOutput {
            name,
            metric_names: o.metrics.iter().map(|m| m.name()).collect(),
            metrics: o.metrics.iter().map(|m| m.resolve(&o.loss)).collect(),
            requested_metrics: o.metrics,
            loss: o.loss,
            weight: o.weight,
        })
        .collect();
    let trainable = model.trainable_tensors();
    let loss_scale = computes_in_float16(model).then(LossScale::default);
    model.set_compiled(Some(Compiled {
        optimizer,
        outputs,
        trainable,
        loss_scale,
    }));
    Ok(())
}

/// Whether a layer of `model` (or of a model nested in it) computes in float16.
fn computes_in_float16(model: &dyn Model) -> bool {
    model.layers().iter().any(|l| {
        l.common().dtype.needs_loss_scaling() || l.as_model().is_some_and(computes_in_float16)
    })
}
