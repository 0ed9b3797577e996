//! `compile`: attaches an optimizer, a loss and metrics to a model.

use convkit_optim::Optimizer;
use convkit_tensor::tch::Tensor;

use crate::losses::Loss;
use crate::metrics::Metric;
use crate::model::Model;
use crate::{Error, Result};

/// What `compile` attaches to a model.
pub struct Compiled {
    /// The optimizer.
    pub optimizer: Box<dyn Optimizer>,
    /// The loss.
    pub loss: Loss,
    /// Metrics, resolved (`accuracy` -> binary/categorical/sparse accuracy).
    pub metrics: Vec<Metric>,
    /// The metrics as requested (before resolution), for saving.
    pub requested_metrics: Vec<Metric>,
    /// Names of the metrics in logs (as the user asked for them: `accuracy`, `acc`...).
    pub metric_names: Vec<String>,
    /// The tensors the optimizer updates, fixed at compile time (as in Keras: changing
    /// `trainable` requires compiling again).
    pub trainable: Vec<Tensor>,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("optimizer", &self.optimizer.name())
            .field("loss", &self.loss)
            .field("metrics", &self.metric_names)
            .finish()
    }
}

/// Compiles `model`: the optimizer will update the parameters that are trainable now.
pub fn compile(
    model: &mut dyn Model,
    optimizer: Box<dyn Optimizer>,
    loss: Loss,
    metrics: &[Metric],
) -> Result<()> {
    if model.output_shape().is_none() || model.input_shape().is_none() {
        return Err(Error::Model {
            model: model.name().into(),
            problem: "cannot compile a model that is not built: give the first layer an input_shape(...) or call build(shape)".into(),
        });
    }
    let metric_names = metrics.iter().map(|m| m.name()).collect();
    let resolved = metrics.iter().map(|m| m.resolve(&loss)).collect();
    let trainable = model.trainable_tensors();
    model.set_compiled(Some(Compiled {
        optimizer,
        loss,
        metrics: resolved,
        requested_metrics: metrics.to_vec(),
        metric_names,
        trainable,
    }));
    Ok(())
}
