//! Random flips of a batch (Keras' `RandomFlip`).

use convkit_tensor::tch::{Kind, Tensor};
use serde::{Deserialize, Serialize};

use super::check_nchw;
use crate::Result;

/// Which axes `RandomFlip` may mirror.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlipMode {
    /// Left-right.
    Horizontal,
    /// Top-bottom.
    Vertical,
    /// Each independently.
    HorizontalAndVertical,
}

impl FlipMode {
    /// Keras' name: `horizontal`, `vertical`, `horizontal_and_vertical`.
    pub fn keras_name(self) -> &'static str {
        match self {
            FlipMode::Horizontal => "horizontal",
            FlipMode::Vertical => "vertical",
            FlipMode::HorizontalAndVertical => "horizontal_and_vertical",
        }
    }

    /// Parses Keras' names.
    pub fn from_keras(name: &str) -> Option<Self> {
        match name {
            "horizontal" => Some(FlipMode::Horizontal),
            "vertical" => Some(FlipMode::Vertical),
            "horizontal_and_vertical" => Some(FlipMode::HorizontalAndVertical),
            _ => None,
        }
    }
}

fn flip_some(x: &Tensor, dim: i64) -> Result<Tensor> {
    let n = x.size()[0];
    let mask = Tensor::f_rand([n, 1, 1, 1], (Kind::Float, x.device()))?.f_lt(0.5)?;
    Ok(x.f_flip([dim])?.f_where_self(&mask, x)?)
}

/// Mirrors each image of `x` `(N, C, H, W)` with probability 1/2 per allowed axis.
pub fn random_flip(x: &Tensor, mode: FlipMode) -> Result<Tensor> {
    check_nchw("RandomFlip", x)?;
    let mut y = x.shallow_clone();
    if matches!(mode, FlipMode::Horizontal | FlipMode::HorizontalAndVertical) {
        y = flip_some(&y, 3)?;
    }
    if matches!(mode, FlipMode::Vertical | FlipMode::HorizontalAndVertical) {
        y = flip_some(&y, 2)?;
    }
    Ok(y)
}
