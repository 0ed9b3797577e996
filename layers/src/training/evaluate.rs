//! `evaluate`: loss and metrics in inference mode, as Keras' `model.evaluate`.

use convkit_tensor::distributed::ProcessGroup;
use convkit_tensor::tch::{self, Tensor};
use convkit_tensor::{BatchSource, Shard, TensorBatches};

use crate::models::model::Model;
use crate::training::batch_loss::total_loss;
use crate::training::epoch_totals::Totals;
use crate::training::{compiled_of, Logs};
use crate::{Error, Result};

/// Loss and metrics over in-memory `x`, `y` (Keras' `evaluate`).
pub fn evaluate(model: &dyn Model, x: &Tensor, y: &Tensor, batch_size: usize) -> Result<Logs> {
    let mut source = TensorBatches::new(x.shallow_clone(), y.shallow_clone(), batch_size, false)?;
    evaluate_source(model, &mut source)
}

/// Loss and metrics over a batch source, in inference mode.
pub fn evaluate_source(model: &dyn Model, source: &mut dyn BatchSource) -> Result<Logs> {
    evaluate_source_on(model, source, None)
}

/// Loss and metrics over a batch source split across the ranks of `group` (each rank
/// evaluates its unpadded share, [`Shard::evaluation`], and the sums are added across ranks),
/// or over all of it without a group. Every rank gets the logs of all samples.
pub fn evaluate_source_on(
    model: &dyn Model,
    source: &mut dyn BatchSource,
    group: Option<&ProcessGroup>,
) -> Result<Logs> {
    if let Some(g) = group {
        source.shard(Shard::evaluation(g.rank(), g.world_size())?)?;
    }
    let compiled = compiled_of(model)?;
    tch::no_grad(|| -> Result<Logs> {
        let device = model.device();
        let mut totals = Totals::new(compiled, device)?;
        for batch in source.epoch(0)? {
            let batch = batch?.to_device(device)?;
            let (loss, preds) = total_loss(model, compiled, &batch, false, None)?;
            totals.add(compiled, &loss, &batch.all_targets(), &preds, batch.len())?;
        }
        if let Some(g) = group {
            totals.all_reduce(g)?;
        }
        if totals.samples() == 0.0 {
            return Err(Error::Model {
                model: model.name().into(),
                problem: "evaluate: the data holds no sample, and no loss or metric is \
                          defined over zero samples"
                    .into(),
            });
        }
        totals.logs(compiled)
    })
}
