//! Keras' model methods (`summary`, `compile`, `fit`, `evaluate`, `predict`, `save`) on every
//! [`Model`]: thin wrappers over [`crate::training`], [`crate::models::summary`] and [`crate::saving`].

use std::path::Path;

use convkit_tensor::tch::Tensor;
use convkit_tensor::BatchSource;

use crate::models::model::Model;
use crate::models::summary::{summary, Summary};
use crate::training::{
    self, FitOptions, History, IntoLoss, IntoMetrics, IntoOptimizer, Logs, OutputLoss,
};
use crate::{saving, Result};

/// Keras' model methods, for every [`Model`] (`Sequential`, `Functional`, `Box<dyn Model>`).
pub trait ModelApi: Model {
    /// This model as a trait object.
    fn as_dyn(&self) -> &dyn Model;
    /// This model as a mutable trait object.
    fn as_dyn_mut(&mut self) -> &mut dyn Model;

    /// The summary table (print it with `{}`).
    fn summary(&self) -> Summary {
        summary(self.as_dyn())
    }

    /// Attaches an optimizer, a loss and metrics, each an object or its Keras name:
    /// `compile("rmsprop", "categorical_crossentropy", ["accuracy"])`.
    fn compile(
        &mut self,
        optimizer: impl IntoOptimizer,
        loss: impl IntoLoss,
        metrics: impl IntoMetrics,
    ) -> Result<()> {
        let (optimizer, loss) = (optimizer.into_optimizer()?, loss.into_loss()?);
        let metrics = metrics.into_metrics()?;
        training::compile(self.as_dyn_mut(), optimizer, loss, &metrics)
    }

    /// Attaches an optimizer and one loss (with its weight and metrics) per output: Keras'
    /// `compile(loss=[...], loss_weights=[...], metrics=[...])`.
    fn compile_outputs(
        &mut self,
        optimizer: impl IntoOptimizer,
        outputs: Vec<OutputLoss>,
    ) -> Result<()> {
        training::compile_outputs(self.as_dyn_mut(), optimizer.into_optimizer()?, outputs)
    }

    /// Trains on in-memory tensors, one per input and one per output (models with several
    /// inputs or outputs).
    fn fit_multi(&mut self, xs: &[Tensor], ys: &[Tensor], options: FitOptions) -> Result<History> {
        training::fit_multi(self.as_dyn_mut(), xs, ys, options)
    }

    /// Trains on in-memory tensors.
    fn fit(&mut self, x: &Tensor, y: &Tensor, options: FitOptions) -> Result<History> {
        training::fit(self.as_dyn_mut(), x, y, options)
    }

    /// Trains on a batch source.
    fn fit_source(&mut self, source: &mut dyn BatchSource, options: FitOptions) -> Result<History> {
        training::fit_source(self.as_dyn_mut(), source, options)
    }

    /// Loss and metrics on in-memory tensors, `batch_size` samples at a time (`None`: 32,
    /// as Keras): `model.evaluate(&x, &y, None)` or `model.evaluate(&x, &y, 128)`.
    fn evaluate(
        &self,
        x: &Tensor,
        y: &Tensor,
        batch_size: impl Into<Option<usize>>,
    ) -> Result<Logs> {
        let batch_size = batch_size.into().unwrap_or(training::DEFAULT_BATCH_SIZE);
        training::evaluate(self.as_dyn(), x, y, batch_size)
    }

    /// Loss and metrics on a batch source.
    fn evaluate_source(&self, source: &mut dyn BatchSource) -> Result<Logs> {
        training::evaluate_source(self.as_dyn(), source)
    }

    /// Predictions in inference mode, `batch_size` samples at a time (`None`: 32, as Keras):
    /// `model.predict(&x, None)` or `model.predict(&x, 256)`.
    fn predict(&self, x: &Tensor, batch_size: impl Into<Option<usize>>) -> Result<Tensor> {
        let batch_size = batch_size.into().unwrap_or(training::DEFAULT_BATCH_SIZE);
        training::predict(self.as_dyn(), x, batch_size)
    }

    /// Saves architecture, weights and optimizer state into a directory.
    fn save(&self, dir: &Path) -> Result<()> {
        saving::save_model(self.as_dyn(), dir)
    }
}

impl<M: Model> ModelApi for M {
    fn as_dyn(&self) -> &dyn Model {
        self
    }
    fn as_dyn_mut(&mut self) -> &mut dyn Model {
        self
    }
}

impl ModelApi for dyn Model {
    fn as_dyn(&self) -> &dyn Model {
        self
    }
    fn as_dyn_mut(&mut self) -> &mut dyn Model {
        self
    }
}
