//! Activation functions, as Keras names them. Softmax runs over axis 1 (features for
//! `(N, C)`, channels for NCHW), which is Keras' last axis.

use convkit_tensor::tch::{Kind, Tensor};
use serde::{Deserialize, Serialize};

use crate::Result;

/// An activation function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// Identity.
    #[default]
    Linear,
    /// `max(x, 0)`.
    Relu,
    /// `1 / (1 + exp(-x))`.
    Sigmoid,
    /// Normalised exponentials over the class axis.
    Softmax,
    /// Hyperbolic tangent.
    Tanh,
    /// `x` if `x > 0` else `exp(x) - 1`.
    Elu,
    /// Exact (erf) GELU, Keras' default.
    Gelu,
    /// `min(max(x, 0), 6)`.
    Relu6,
}

impl Activation {
    /// Applies the function.
    pub fn apply(self, x: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Activation::Linear => x.shallow_clone(),
            Activation::Relu => x.f_relu()?,
            // Probabilities in float32 under mixed precision (softmax's `Kind::Float` too).
            Activation::Sigmoid => crate::mixed_precision::to_float32(x)?.f_sigmoid()?,
            Activation::Softmax => x.f_softmax(if x.dim() > 1 { 1 } else { 0 }, Kind::Float)?,
            Activation::Tanh => x.f_tanh()?,
            Activation::Elu => x.f_elu()?,
            Activation::Gelu => x.f_gelu("none")?,
            Activation::Relu6 => x.f_clamp(0.0, 6.0)?,
        })
    }

    /// Keras' name.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Softmax => "softmax",
            Activation::Tanh => "tanh",
            Activation::Elu => "elu",
            Activation::Gelu => "gelu",
            Activation::Relu6 => "relu6",
        }
    }

    /// Parses a Keras name.
    pub fn from_name(s: &str) -> Option<Activation> {
        serde_json::from_value(serde_json::Value::String(s.to_ascii_lowercase())).ok()
    }
}
