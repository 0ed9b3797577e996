//! [`PreprocessMode`]: the named ways `[0, 255]` RGB pixels become a pretrained network's
//! input — Keras' `imagenet_utils.preprocess_input` modes (`caffe`, `tf`, `torch`),
//! EfficientNet-Lite's, and the plain ones — which weights expect which
//! ([`crate::pretrained::Base::preprocess_mode`]), and `--preprocess` to choose another.
//!
//! # Example
//! ```
//! use convkit::preprocess_mode::PreprocessMode;
//! let mode: PreprocessMode = "caffe".parse().unwrap();
//! assert_eq!(mode.name(), "caffe");
//! ```

use std::str::FromStr;

use convkit_layers::applications::{efficientnet_lite, vgg16, xception};
use convkit_tensor::tch::{Kind, Tensor};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// How `[0, 255]` RGB NCHW pixels become a network's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PreprocessMode {
    /// Keras' `caffe`: RGB to BGR, the ImageNet channel means subtracted, no scaling (Keras'
    /// VGG16 and ResNet50 weights).
    Caffe,
    /// Keras' `tf`: scaled to `[-1, 1]` (Keras' Xception weights).
    Tf,
    /// Keras' `torch`, torchvision's normalisation: `x / 255`, the ImageNet mean subtracted
    /// and divided by its standard deviation, per channel (torchvision's VGG16 weights).
    Torch,
    /// EfficientNet-Lite's `(x - 127) / 128`.
    #[serde(rename = "efficientnet-lite")]
    EfficientNetLite,
    /// `x / 255`, `[0, 1]` (convkit's convnets trained from scratch).
    Unit,
    /// The pixels as they are, `[0, 255]` (models that rescale themselves, as the book's do).
    Raw,
}

/// Every mode with its command-line name.
const MODES: [(PreprocessMode, &str); 6] = [
    (PreprocessMode::Caffe, "caffe"),
    (PreprocessMode::Tf, "tf"),
    (PreprocessMode::Torch, "torch"),
    (PreprocessMode::EfficientNetLite, "efficientnet-lite"),
    (PreprocessMode::Unit, "unit"),
    (PreprocessMode::Raw, "raw"),
];

impl PreprocessMode {
    /// The name `--preprocess` takes and `info.json` records.
    pub fn name(self) -> &'static str {
        MODES
            .iter()
            .find(|(m, _)| *m == self)
            .map(|(_, n)| *n)
            .unwrap_or("?")
    }

    /// Applies the mode to `[0, 255]` RGB NCHW pixels.
    pub fn apply(self, x: &Tensor) -> Result<Tensor> {
        Ok(match self {
            PreprocessMode::Caffe => vgg16::preprocess_input(x)?,
            PreprocessMode::Tf => xception::preprocess_input(x)?,
            PreprocessMode::Torch => vgg16::preprocess_input_torch(x)?,
            PreprocessMode::EfficientNetLite => efficientnet_lite::preprocess_input(x)?,
            PreprocessMode::Unit => x.f_to_kind(Kind::Float)?.f_div_scalar(255.0)?,
            PreprocessMode::Raw => x.f_to_kind(Kind::Float)?,
        })
    }
}

impl FromStr for PreprocessMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<PreprocessMode> {
        let wanted = s.to_ascii_lowercase().replace('_', "-");
        MODES
            .iter()
            .find(|(_, n)| *n == wanted)
            .map(|(m, _)| *m)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "--preprocess {s}: not a preprocessing; expected one of {}",
                    MODES.map(|(_, n)| n).join(", ")
                ))
            })
    }
}

impl std::fmt::Display for PreprocessMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_list_the_known() {
        for (mode, name) in MODES {
            assert_eq!(name.parse::<PreprocessMode>().unwrap(), mode);
            assert_eq!(mode.to_string(), name);
            let json = serde_json::to_value(mode).unwrap();
            assert_eq!(json, name, "info.json records the same name");
        }
        let e = "imagenet"
            .parse::<PreprocessMode>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("caffe, tf, torch"), "{e}");
    }
}
