//! [`Compiled`]: what `compile` attaches to a model (the optimizer, one loss, weight and
//! metric list per output, the tensors to update), and [`OutputLoss`], how a user asks for
//! one output's loss.

use convkit_optim::Optimizer;
use convkit_tensor::tch::Tensor;

use crate::training::losses::Loss;
use crate::training::metrics::Metric;

/// What one output of a model is trained on: Keras' per-output `loss`, `loss_weights` entry
/// and `metrics`.
///
/// # Example
/// ```no_run
/// # use convkit_layers::prelude::*;
/// # fn two_heads(model: &mut Functional) -> convkit_layers::Result<()> {
/// model.compile_outputs(
///     RMSprop::new(),
///     vec![
///         OutputLoss::new(Loss::MeanSquaredError).weight(0.25).metrics(&[Metric::MeanAbsoluteError]),
///         OutputLoss::new(Loss::CategoricalCrossentropy { from_logits: false }).metrics(&[Metric::Accuracy]),
///     ],
/// )
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OutputLoss {
    /// The loss of this output.
    pub loss: Loss,
    /// Its weight in the total loss (Keras' `loss_weights`, 1 by default).
    pub weight: f64,
    /// Metrics of this output.
    pub metrics: Vec<Metric>,
}

impl OutputLoss {
    /// `loss` with weight 1 and no metric.
    pub fn new(loss: Loss) -> Self {
        OutputLoss {
            loss,
            weight: 1.0,
            metrics: Vec::new(),
        }
    }

    /// Sets the weight in the total loss.
    pub fn weight(mut self, weight: f64) -> Self {
        self.weight = weight;
        self
    }

    /// Sets the metrics.
    pub fn metrics(mut self, metrics: &[Metric]) -> Self {
        self.metrics = metrics.to_vec();
        self
    }
}

/// One output's training state.
#[derive(Debug, Clone)]
pub struct CompiledOutput {
    /// Name of the output (the layer producing it); prefixes its logs when there are several.
    pub name: String,
    /// The loss.
    pub loss: Loss,
    /// Weight in the total loss.
    pub weight: f64,
    /// Metrics, resolved (`accuracy` -> binary/categorical/sparse accuracy).
    pub metrics: Vec<Metric>,
    /// The metrics as requested (before resolution), for saving.
    pub requested_metrics: Vec<Metric>,
    /// Names of the metrics in logs (as the user asked for them: `accuracy`, `acc`...).
    pub metric_names: Vec<String>,
}

/// What `compile` attaches to a model.
pub struct Compiled {
    /// The optimizer.
    pub optimizer: Box<dyn Optimizer>,
    /// One entry per model output.
    pub outputs: Vec<CompiledOutput>,
    /// The tensors the optimizer updates, fixed at compile time (as in Keras: changing
    /// `trainable` requires compiling again).
    pub trainable: Vec<Tensor>,
    /// Dynamic loss scaling, for models that compute in float16 (`mixed_float16`; Keras
    /// wraps the optimizer in a `LossScaleOptimizer`).
    pub loss_scale: Option<crate::training::loss_scale::LossScale>,
}

impl Compiled {
    /// Whether logs name each output (`<output>_loss`, `<output>_<metric>`).
    pub fn is_multi_output(&self) -> bool {
        self.outputs.len() > 1
    }

    /// Log name of output `i`'s metric `j` (Keras: unprefixed for one output).
    pub fn metric_log_name(&self, i: usize, j: usize) -> String {
        let out = &self.outputs[i];
        if self.is_multi_output() {
            format!("{}_{}", out.name, out.metric_names[j])
        } else {
            out.metric_names[j].clone()
        }
    }
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("optimizer", &self.optimizer.name())
            .field("outputs", &self.outputs)
            .finish()
    }
}
