//! Keras' mixed precision: dtype policies (`keras.mixed_precision.set_global_policy`).
//!
//! Under `mixed_bfloat16` or `mixed_float16` a layer keeps its variables in float32 and
//! computes in the low precision: its floating inputs are cast to the compute dtype when it is
//! called ([`autocast_input`], as Keras' `Layer.__call__`), its kernels and biases are cast to
//! the input's dtype where they are used, BatchNormalization computes its statistics in
//! float32, softmax and sigmoid return float32, and losses and metrics are computed in
//! float32. Gradients reach the float32 variables through the casts. `mixed_float16` trains
//! with dynamic loss scaling (`training::loss_scale`), as Keras' `LossScaleOptimizer`.
//!
//! A layer takes the global policy in force when it is made, as in Keras; a saved model
//! records each layer's policy.
//!
//! # Example
//! ```
//! use convkit_layers::mixed_precision::{set_global_policy, DTypePolicy};
//! set_global_policy(DTypePolicy::MixedBfloat16);
//! let dense = convkit_layers::layers::Dense::new(10);
//! assert_eq!(convkit_layers::Layer::common(&dense).dtype, DTypePolicy::MixedBfloat16);
//! set_global_policy(DTypePolicy::Float32);
//! ```

use std::sync::atomic::{AtomicU8, Ordering};

use convkit_tensor::tch::{Kind, Tensor};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A layer's dtype policy: the dtype of its variables and the dtype it computes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum DTypePolicy {
    /// Variables and computations in float32.
    #[default]
    #[serde(rename = "float32")]
    Float32,
    /// Float32 variables, bfloat16 computations (CPUs with AMX or AVX-512 BF16, TPUs, recent
    /// GPUs).
    #[serde(rename = "mixed_bfloat16")]
    MixedBfloat16,
    /// Float32 variables, float16 computations, dynamic loss scaling (GPUs).
    #[serde(rename = "mixed_float16")]
    MixedFloat16,
}

impl DTypePolicy {
    /// Keras' name (`"mixed_bfloat16"`).
    pub fn name(self) -> &'static str {
        match self {
            DTypePolicy::Float32 => "float32",
            DTypePolicy::MixedBfloat16 => "mixed_bfloat16",
            DTypePolicy::MixedFloat16 => "mixed_float16",
        }
    }

    /// The dtype computations run in.
    pub fn compute_kind(self) -> Kind {
        match self {
            DTypePolicy::Float32 => Kind::Float,
            DTypePolicy::MixedBfloat16 => Kind::BFloat16,
            DTypePolicy::MixedFloat16 => Kind::Half,
        }
    }

    /// The dtype of the variables (float32 under every policy).
    pub fn variable_kind(self) -> Kind {
        Kind::Float
    }

    /// Whether training needs loss scaling (float16's narrow range).
    pub fn needs_loss_scaling(self) -> bool {
        self == DTypePolicy::MixedFloat16
    }

    /// Whether this is float32 (for serde's `skip_serializing_if`).
    pub fn is_float32(&self) -> bool {
        *self == DTypePolicy::Float32
    }
}

impl std::fmt::Display for DTypePolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for DTypePolicy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "float32" => Ok(DTypePolicy::Float32),
            "mixed_bfloat16" => Ok(DTypePolicy::MixedBfloat16),
            "mixed_float16" => Ok(DTypePolicy::MixedFloat16),
            other => Err(Error::UnknownName {
                kind: "dtype policy",
                given: other.to_string(),
                known: ["float32", "mixed_bfloat16", "mixed_float16"]
                    .map(String::from)
                    .to_vec(),
            }),
        }
    }
}

static GLOBAL: AtomicU8 = AtomicU8::new(0);

/// Sets the policy of the layers made from now on (Keras'
/// `keras.mixed_precision.set_global_policy`).
pub fn set_global_policy(policy: DTypePolicy) {
    let code = match policy {
        DTypePolicy::Float32 => 0,
        DTypePolicy::MixedBfloat16 => 1,
        DTypePolicy::MixedFloat16 => 2,
    };
    GLOBAL.store(code, Ordering::Relaxed);
}

/// The policy new layers take (float32 until [`set_global_policy`]).
pub fn global_policy() -> DTypePolicy {
    match GLOBAL.load(Ordering::Relaxed) {
        1 => DTypePolicy::MixedBfloat16,
        2 => DTypePolicy::MixedFloat16,
        _ => DTypePolicy::Float32,
    }
}

fn is_floating(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Float | Kind::Double | Kind::Half | Kind::BFloat16
    )
}

/// `x` cast to `policy`'s compute dtype when it is floating and of another dtype (Keras casts
/// a layer's floating inputs when it is called); integer inputs (labels, indices) pass.
pub fn autocast_input(policy: DTypePolicy, x: &Tensor) -> Result<Tensor> {
    let kind = policy.compute_kind();
    if is_floating(x.kind()) && x.kind() != kind {
        Ok(x.f_to_kind(kind)?)
    } else {
        Ok(x.shallow_clone())
    }
}

/// A variable (`kernel`, `bias`) as an input of dtype `like` uses it: cast when they differ
/// (the cast is differentiable, so the gradient reaches the float32 variable).
pub fn variable_as(t: &Tensor, like: &Tensor) -> Result<Tensor> {
    if t.kind() != like.kind() && is_floating(like.kind()) {
        Ok(t.f_to_kind(like.kind())?)
    } else {
        Ok(t.shallow_clone())
    }
}

/// `t` in float32 when it is in a low precision (model outputs before losses and metrics).
pub fn to_float32(t: &Tensor) -> Result<Tensor> {
    if matches!(t.kind(), Kind::Half | Kind::BFloat16) {
        Ok(t.f_to_kind(Kind::Float)?)
    } else {
        Ok(t.shallow_clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use convkit_tensor::tch::Device;

    #[test]
    fn names_round_trip() {
        for p in [
            DTypePolicy::Float32,
            DTypePolicy::MixedBfloat16,
            DTypePolicy::MixedFloat16,
        ] {
            assert_eq!(p.name().parse::<DTypePolicy>().unwrap(), p);
            assert_eq!(
                serde_json::to_value(p).unwrap(),
                serde_json::json!(p.name())
            );
        }
        assert!("bfloat16".parse::<DTypePolicy>().is_err());
    }

    #[test]
    fn inputs_are_cast_but_labels_are_not() {
        let x = Tensor::ones([2], (Kind::Float, Device::Cpu));
        let y = Tensor::ones([2], (Kind::Int64, Device::Cpu));
        let p = DTypePolicy::MixedBfloat16;
        assert_eq!(autocast_input(p, &x).unwrap().kind(), Kind::BFloat16);
        assert_eq!(autocast_input(p, &y).unwrap().kind(), Kind::Int64);
        let back = autocast_input(DTypePolicy::Float32, &x.to_kind(Kind::BFloat16)).unwrap();
        assert_eq!(back.kind(), Kind::Float);
    }
}
