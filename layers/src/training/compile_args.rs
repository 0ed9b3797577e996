//! What `compile` takes, as Keras does: an optimizer object or its name (`"rmsprop"`), a loss
//! or its name (`"categorical_crossentropy"`), metrics or their names (`["accuracy"]`).
//!
//! # Example
//! ```no_run
//! use convkit_layers::prelude::*;
//! # fn f(model: &mut Sequential) -> convkit_layers::Result<()> {
//! model.compile("rmsprop", "categorical_crossentropy", ["accuracy"])?;
//! model.compile(RMSprop::new().learning_rate(1e-4), Loss::BinaryCrossentropy { from_logits: false }, &[Metric::Accuracy])?;
//! # Ok(()) }
//! ```

use convkit_optim::{KerasOptimizer, Optimizer, UpdateRule};

use crate::training::losses::Loss;
use crate::training::metrics::Metric;
use crate::Result;

/// An optimizer, or the name of one with Keras' defaults.
pub trait IntoOptimizer {
    /// The optimizer.
    fn into_optimizer(self) -> Result<Box<dyn Optimizer>>;
}

impl<R: UpdateRule> IntoOptimizer for KerasOptimizer<R> {
    fn into_optimizer(self) -> Result<Box<dyn Optimizer>> {
        Ok(Box::new(self))
    }
}

impl IntoOptimizer for Box<dyn Optimizer> {
    fn into_optimizer(self) -> Result<Box<dyn Optimizer>> {
        Ok(self)
    }
}

impl IntoOptimizer for &str {
    fn into_optimizer(self) -> Result<Box<dyn Optimizer>> {
        Ok(convkit_optim::from_name(self, None)?)
    }
}

/// A loss, or its Keras name.
pub trait IntoLoss {
    /// The loss.
    fn into_loss(self) -> Result<Loss>;
}

impl IntoLoss for Loss {
    fn into_loss(self) -> Result<Loss> {
        Ok(self)
    }
}

impl IntoLoss for &str {
    fn into_loss(self) -> Result<Loss> {
        Loss::from_name(self)
    }
}

/// A list of metrics (`&[Metric::Accuracy]`, `&[]`), or of their Keras names
/// (`["accuracy"]`).
pub trait IntoMetrics {
    /// The metrics.
    fn into_metrics(self) -> Result<Vec<Metric>>;
}

impl IntoMetrics for &[Metric] {
    fn into_metrics(self) -> Result<Vec<Metric>> {
        Ok(self.to_vec())
    }
}

impl<const N: usize> IntoMetrics for &[Metric; N] {
    fn into_metrics(self) -> Result<Vec<Metric>> {
        Ok(self.to_vec())
    }
}

impl IntoMetrics for Vec<Metric> {
    fn into_metrics(self) -> Result<Vec<Metric>> {
        Ok(self)
    }
}

impl IntoMetrics for &[&str] {
    fn into_metrics(self) -> Result<Vec<Metric>> {
        self.iter().map(|n| Metric::from_name(n)).collect()
    }
}

impl<const N: usize> IntoMetrics for [&str; N] {
    fn into_metrics(self) -> Result<Vec<Metric>> {
        self.as_slice().into_metrics()
    }
}
