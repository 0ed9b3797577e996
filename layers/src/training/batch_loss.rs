//! The loss of one batch as training minimises it: the weighted sum of each output's loss,
//! plus the weight and activity regularization penalties.

use convkit_tensor::tch::{Kind, Tensor};
use convkit_tensor::Batch;

use crate::models::model::Model;
use crate::training::class_weight::weigh;
use crate::training::Compiled;
use crate::{Error, Result};

/// The loss of a batch: the total that training minimises (weighted data losses plus
/// regularization penalties) and each output's unweighted data loss.
pub(crate) struct BatchLoss {
    pub(crate) total: Tensor,
    pub(crate) per_output: Vec<Tensor>,
}

/// The loss of a batch as training minimises it, and the predictions. `sample_weight`
/// `(N,)` scales each sample's loss (Keras' `sum_over_batch_size` of the weighted values).
pub(crate) fn total_loss(
    model: &dyn Model,
    compiled: &Compiled,
    batch: &Batch,
    training: bool,
    sample_weight: Option<&Tensor>,
) -> Result<(BatchLoss, Vec<Tensor>)> {
    let (preds, activity) = model.forward_many_with_losses(&batch.all_inputs(), training)?;
    // Losses and metrics in float32 under mixed precision, as Keras computes them.
    let preds: Vec<Tensor> = preds
        .iter()
        .map(crate::mixed_precision::to_float32)
        .collect::<Result<_>>()?;
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
        let l = match sample_weight {
            None => out.loss.compute(y, pred)?,
            Some(w) => weigh(&out.loss.per_sample(y, pred)?, w)?.f_mean(Kind::Float)?,
        };
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
    let mut loss = loss.ok_or_else(|| Error::Model {
        model: model.name().into(),
        problem: "compiled with no output".into(),
    })?;
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
