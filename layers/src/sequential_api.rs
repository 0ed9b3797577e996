//! Keras' model methods on [`Sequential`]: thin wrappers over [`crate::training`],
//! [`crate::summary`] and [`crate::saving`].

use std::path::Path;

use convkit_optim::Optimizer;
use convkit_tensor::tch::Tensor;
use convkit_tensor::BatchSource;

use crate::losses::Loss;
use crate::metrics::Metric;
use crate::sequential::Sequential;
use crate::summary::{summary, Summary};
use crate::training::{self, FitOptions, History, Logs};
use crate::{saving, Result};

impl Sequential {
    /// The summary table (print it with `{}`).
    pub fn summary(&self) -> Summary {
        summary(self)
    }

    /// Attaches an optimizer, a loss and metrics.
    pub fn compile(
        &mut self,
        optimizer: impl Optimizer + 'static,
        loss: Loss,
        metrics: &[Metric],
    ) -> Result<()> {
        training::compile(self, Box::new(optimizer), loss, metrics)
    }

    /// Attaches a boxed optimizer (e.g. from [`convkit_optim::from_name`]).
    pub fn compile_boxed(
        &mut self,
        optimizer: Box<dyn Optimizer>,
        loss: Loss,
        metrics: &[Metric],
    ) -> Result<()> {
        training::compile(self, optimizer, loss, metrics)
    }

    /// Trains on in-memory tensors.
    pub fn fit(&mut self, x: &Tensor, y: &Tensor, options: FitOptions) -> Result<History> {
        training::fit(self, x, y, options)
    }

    /// Trains on a batch source.
    pub fn fit_source(
        &mut self,
        source: &mut dyn BatchSource,
        options: FitOptions,
    ) -> Result<History> {
        training::fit_source(self, source, options)
    }

    /// Loss and metrics on in-memory tensors.
    pub fn evaluate(&mut self, x: &Tensor, y: &Tensor, batch_size: usize) -> Result<Logs> {
        training::evaluate(self, x, y, batch_size)
    }

    /// Loss and metrics on a batch source.
    pub fn evaluate_source(&mut self, source: &mut dyn BatchSource) -> Result<Logs> {
        training::fit::evaluate_source(self, source)
    }

    /// Predictions in inference mode.
    pub fn predict(&self, x: &Tensor, batch_size: usize) -> Result<Tensor> {
        training::predict(self, x, batch_size)
    }

    /// Saves architecture, weights and optimizer state into a directory.
    pub fn save(&self, dir: &Path) -> Result<()> {
        saving::save_model(self, dir)
    }
}
