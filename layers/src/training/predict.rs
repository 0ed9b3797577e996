//! `predict`: forward passes in inference mode over batches.

use convkit_tensor::tch::{self, Tensor};

use crate::models::model::Model;
use crate::{Error, Result};

/// Predictions for every sample of `x`, computed `batch_size` at a time without gradients
/// (in float32, whatever the model computes in).
///
/// # Shapes
/// `x`: `(N, ...input_shape)` -> `(N, ...output_shape)`.
pub fn predict(model: &dyn Model, x: &Tensor, batch_size: usize) -> Result<Tensor> {
    if batch_size == 0 {
        return Err(Error::Model {
            model: model.name().into(),
            problem: "predict: batch_size must be at least 1".into(),
        });
    }
    let n = x.size().first().copied().unwrap_or(0);
    tch::no_grad(|| {
        let mut outs = Vec::new();
        let mut start = 0;
        while start < n {
            let len = (batch_size as i64).min(n - start);
            let y = model.forward(&x.f_narrow(0, start, len)?, false)?;
            outs.push(crate::mixed_precision::to_float32(&y)?);
            start += len;
        }
        if outs.is_empty() {
            return crate::mixed_precision::to_float32(&model.forward(x, false)?);
        }
        Ok(Tensor::f_cat(&outs, 0)?)
    })
}
