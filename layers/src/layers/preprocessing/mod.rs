//! Keras' image preprocessing and augmentation layers. The random ones act only in training
//! (identity at inference) and run batched on the model's device through
//! [`convkit_augment::batched`].

pub mod random_contrast;
pub mod random_flip;
pub mod random_rotation;
pub mod random_translation;
pub mod random_zoom;
pub mod rescaling;

pub use convkit_augment::batched::FlipMode;
pub use random_contrast::{RandomContrast, RandomContrastConfig};
pub use random_flip::{RandomFlip, RandomFlipConfig};
pub use random_rotation::{RandomRotation, RandomRotationConfig};
pub use random_translation::{RandomTranslation, RandomTranslationConfig};
pub use random_zoom::{RandomZoom, RandomZoomConfig};
pub use rescaling::{Rescaling, RescalingConfig};

use convkit_augment::{FillMode, Interpolation};
use convkit_tensor::tch::Tensor;
use serde::{Deserialize, Serialize};

/// A Keras factor: one number `f` (the range `(-f, f)`) or an explicit `(lower, upper)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Factor {
    /// `f`, meaning `(-f, f)`.
    Symmetric(f64),
    /// `(lower, upper)`.
    Range(f64, f64),
}

impl From<f64> for Factor {
    fn from(f: f64) -> Self {
        Factor::Symmetric(f)
    }
}

impl From<(f64, f64)> for Factor {
    fn from((lo, hi): (f64, f64)) -> Self {
        Factor::Range(lo, hi)
    }
}

impl Factor {
    /// The `(lower, upper)` range.
    pub fn range(self) -> (f64, f64) {
        match self {
            Factor::Symmetric(f) => (-f.abs(), f.abs()),
            Factor::Range(lo, hi) => (lo, hi),
        }
    }

    /// Checks that the range is finite, ordered and within `[-limit, limit]`.
    pub(crate) fn check(self, limit: f64) -> Result<(f64, f64), String> {
        let (lo, hi) = self.range();
        if !(lo.is_finite() && hi.is_finite() && lo <= hi && lo >= -limit && hi <= limit) {
            return Err(format!(
                "factor must be a number or (lower, upper) range within [-{limit}, {limit}], got {self:?}"
            ));
        }
        Ok((lo, hi))
    }
}

/// Fill settings shared by the geometric layers (Keras defaults: reflect, bilinear, 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FillSettings {
    /// `reflect`, `wrap`, `constant` or `nearest`.
    #[serde(default = "default_fill_mode")]
    pub fill_mode: String,
    /// `bilinear` or `nearest`.
    #[serde(default = "default_interpolation")]
    pub interpolation: String,
    /// Value of `constant` fill.
    #[serde(default)]
    pub fill_value: f32,
}

fn default_fill_mode() -> String {
    "reflect".into()
}

fn default_interpolation() -> String {
    "bilinear".into()
}

impl Default for FillSettings {
    fn default() -> Self {
        FillSettings {
            fill_mode: default_fill_mode(),
            interpolation: default_interpolation(),
            fill_value: 0.0,
        }
    }
}

impl FillSettings {
    /// Parses the settings, or says which one is wrong.
    pub(crate) fn parse(&self) -> Result<(FillMode, Interpolation), String> {
        let fill = FillMode::from_keras(&self.fill_mode, self.fill_value).ok_or_else(|| {
            format!(
                "fill_mode must be one of reflect, wrap, constant, nearest, got '{}'",
                self.fill_mode
            )
        })?;
        let interp = match self.interpolation.as_str() {
            "bilinear" => Interpolation::Bilinear,
            "nearest" => Interpolation::Nearest,
            other => {
                return Err(format!(
                    "interpolation must be bilinear or nearest, got '{other}'"
                ))
            }
        };
        Ok((fill, interp))
    }
}

/// The forward pass of a geometric random layer (`RandomRotation`, `RandomTranslation`,
/// `RandomZoom`): the identity at inference; in training, `warp` with the layer's fill mode
/// and interpolation.
pub(crate) fn geometric_forward(
    layer: &dyn crate::Layer,
    x: &Tensor,
    training: bool,
    fill: &FillSettings,
    warp: impl FnOnce(FillMode, Interpolation) -> convkit_augment::Result<Tensor>,
) -> crate::Result<Tensor> {
    layer.check_input(x)?;
    if !training {
        return Ok(x.shallow_clone());
    }
    let (fill, interp) = fill.parse().map_err(|p| layer.config_error(&p))?;
    Ok(warp(fill, interp)?)
}

/// Builder methods of a geometric random layer whose configuration holds
/// [`FillSettings`] in `fill`.
macro_rules! fill_setters {
    () => {
        /// Sets the fill mode (`reflect`, `wrap`, `constant`, `nearest`) and the value of
        /// `constant` fill.
        pub fn fill_mode(mut self, mode: &str, value: f32) -> Self {
            self.config.fill.fill_mode = mode.into();
            self.config.fill.fill_value = value;
            self
        }
        /// Sets the interpolation (`bilinear` or `nearest`).
        pub fn interpolation(mut self, interpolation: &str) -> Self {
            self.config.fill.interpolation = interpolation.into();
            self
        }
    };
}
pub(crate) use fill_setters;

/// Implements the boilerplate of a random layer whose config has `common` and whose struct
/// has `config` and `input_shape`: class and base names, shape passthrough for `(C, H, W)`
/// inputs, build, and config (the class name is the layer's `SerializableLayer::CLASS_NAME`).
macro_rules! random_layer_basics {
    ($base:literal) => {
        common_accessors!();
        fn class_name(&self) -> &'static str {
            <Self as $crate::layers::layer::SerializableLayer>::CLASS_NAME
        }
        fn base_name(&self) -> &'static str {
            $base
        }
        fn compute_output_shape(&self, input_shape: &[i64]) -> $crate::Result<Vec<i64>> {
            $crate::layers::expect_chw(self, input_shape)?;
            self.validate().map_err(|p| self.config_error(&p))?;
            Ok(input_shape.to_vec())
        }
        parameterless_build!();
        fn config(&self) -> $crate::layers::layer::LayerConfig {
            $crate::layers::layer::LayerConfig::new::<Self>(&self.config)
        }
    };
}
pub(crate) use random_layer_basics;
