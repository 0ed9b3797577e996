//! `RandomZoom`: zooms images in or out at random in training.

use convkit_augment::batched::random_zoom;
use convkit_tensor::tch::Tensor;
use serde::{Deserialize, Serialize};

use super::{fill_setters, geometric_forward, random_layer_basics, Factor, FillSettings};
use crate::layers::layer::SerializableLayer;
use crate::layers::layer::{Layer, LayerCommon};
use crate::Result;

/// Configuration of [`RandomZoom`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RandomZoomConfig {
    /// Name, trainable, input shape.
    #[serde(flatten)]
    pub common: LayerCommon,
    /// Height zoom: positive values zoom out, negative zoom in (`0.2` = `(-0.2, 0.2)`).
    pub height_factor: Factor,
    /// Width zoom; `None` keeps the aspect ratio (same factor as the height).
    #[serde(default)]
    pub width_factor: Option<Factor>,
    /// Fill mode, interpolation and fill value.
    #[serde(flatten)]
    pub fill: FillSettings,
}

/// Keras' `RandomZoom(height_factor, width_factor=None, fill_mode="reflect")`.
///
/// # Shapes
/// `(N, C, H, W)`, unchanged.
#[derive(Debug)]
pub struct RandomZoom {
    config: RandomZoomConfig,
    input_shape: Option<Vec<i64>>,
}

impl RandomZoom {
    /// Zoom drawn from `height_factor`, the same for the width.
    pub fn new(height_factor: impl Into<Factor>) -> Self {
        Self::from_config(RandomZoomConfig {
            common: LayerCommon::new(),
            height_factor: height_factor.into(),
            width_factor: None,
            fill: FillSettings::default(),
        })
    }

    fill_setters!();

    /// Draws the width zoom independently from `width_factor`.
    pub fn width_factor(mut self, width_factor: impl Into<Factor>) -> Self {
        self.config.width_factor = Some(width_factor.into());
        self
    }
    fn validate(&self) -> Result<(), String> {
        let (lo, _) = self.config.height_factor.check(f64::MAX)?;
        let wlo = match self.config.width_factor {
            Some(w) => w.check(f64::MAX)?.0,
            None => lo,
        };
        if lo <= -1.0 || wlo <= -1.0 {
            return Err("zoom factors must be > -1 (a zoom of -100% or more is empty)".into());
        }
        self.config.fill.parse().map(|_| ())
    }
}

impl SerializableLayer for RandomZoom {
    const CLASS_NAME: &'static str = "RandomZoom";
    type Config = RandomZoomConfig;

    fn from_config(config: RandomZoomConfig) -> Self {
        RandomZoom {
            config,
            input_shape: None,
        }
    }
}

impl Layer for RandomZoom {
    random_layer_basics!("random_zoom");

    fn forward(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        let c = &self.config;
        geometric_forward(self, x, training, &c.fill, |fill, interp| {
            random_zoom(
                x,
                c.height_factor.range(),
                c.width_factor.map(Factor::range),
                interp,
                fill,
            )
        })
    }
}
