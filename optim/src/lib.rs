//! # convkit-optim
//!
//! Optimizers that update a list of parameter tensors with Keras 3's update formulas and
//! defaults. This crate knows nothing of layers: give it tensors whose `.grad()` is filled.
//!
//! # Example
//! ```
//! use convkit_optim::{Optimizer, RMSprop};
//! use convkit_tensor::tch::{Kind, Device, Tensor};
//! let w = Tensor::ones([3], (Kind::Float, Device::Cpu)).set_requires_grad(true);
//! let mut opt = RMSprop::new(); // lr 1e-3, rho 0.9, epsilon 1e-7, as Keras
//! (&w * &w).sum(Kind::Float).backward();
//! opt.step(&[w.shallow_clone()]).unwrap();
//! assert!(w.double_value(&[0]) < 1.0);
//! ```
#![warn(missing_docs)]
// Library code returns errors: no unwrap, expect or panic outside tests (each allow says why).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod clipping;
pub mod error;
pub mod factory;
pub mod optimizer;
pub mod rules;
pub mod schedule;
pub mod state;

pub use clipping::Clipping;
pub use error::{Error, Result};
pub use factory::{from_config, from_name};
pub use optimizer::{KerasOptimizer, Optimizer, Step, UpdateRule};
pub use rules::{Adam, AdamRule, AdamW, AdamWRule, RMSprop, RMSpropRule, SgdRule, SGD};
pub use schedule::{CosineDecay, ExponentialDecay, LearningRate, LearningRateSchedule, StepDecay};
pub use state::{load_state, save_state};
