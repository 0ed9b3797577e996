//! [`ClassifierInfo`]: what an image classifier trained by `convkit train` needs besides its
//! layers to be used again — its class names, and how an image file becomes its input (size,
//! resize filter, background removal, pixel preprocessing). Saved as the model directory's
//! `info.json` ([`convkit_layers::saving::INFO_FILE`]); `predict`, `gradcam` and
//! `activations` read it so they see images exactly as training did.

use std::path::{Path, PathBuf};

use convkit_augment::ops::BackgroundRemoval;
use convkit_augment::HwcImage;
use convkit_data::image_folder::{ColorMode, ImageDecoder, ResizeFilter};
use convkit_layers::saving::{load_model_info, save_model_with_info};
use convkit_layers::Model;
use convkit_tensor::tch::{Kind, Tensor};
use serde::{Deserialize, Serialize};

use crate::preprocess_mode::PreprocessMode;
use crate::pretrained::Base;
use crate::{Error, Result};

/// How `[0, 255]` pixels become the model's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Preprocessing {
    /// Multiplied by `scale` (1/255 for convkit's convnets trained from scratch; 1 when the
    /// model rescales itself).
    Rescale {
        /// The factor.
        scale: f64,
    },
    /// A named preprocessing: what a pretrained base's weights expect (recorded by `train`
    /// from the weights' origin), or what `--preprocess` chose.
    Mode {
        /// The mode (`caffe`, `tf`, `torch`, `efficientnet-lite`, `unit`, `raw`).
        mode: PreprocessMode,
    },
    /// The pretrained base's own preprocessing for its weights file (what `train` recorded
    /// before [`Preprocessing::Mode`]; still read).
    Base {
        /// The application (`efficientnet-lite0`, `vgg16`, `xception`).
        base: String,
        /// The weights file's name (its format decides VGG16's preprocessing).
        weights: String,
    },
}

/// What a classifier needs besides its layers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifierInfo {
    /// `"convkit-classifier"`.
    pub format: String,
    /// Class names, in label order (the sorted subfolder names it was trained on).
    pub class_names: Vec<String>,
    /// `binary` (one sigmoid unit), `categorical` or `sparse` (a softmax over the classes).
    pub label_mode: String,
    /// Input `(height, width)`.
    pub image_size: [usize; 2],
    /// Resize filter (`bilinear`, as `image_dataset_from_directory`).
    pub interpolation: String,
    /// The plant-seedlings background removal, applied after resizing and before the model.
    pub background_removal: bool,
    /// Pixel preprocessing.
    pub preprocessing: Preprocessing,
}

/// The format tag of [`ClassifierInfo`].
pub const CLASSIFIER_FORMAT: &str = "convkit-classifier";

impl ClassifierInfo {
    /// The info saved with the model directory `dir`, `None` when it has none (a model saved
    /// by another command or by a library user).
    pub fn load(dir: &Path) -> Result<Option<ClassifierInfo>> {
        let Some(value) = load_model_info(dir)? else {
            return Ok(None);
        };
        let info: ClassifierInfo = serde_json::from_value(value).map_err(|e| {
            Error::Invalid(format!(
                "{}: info.json is not a classifier's info: {e}",
                dir.display()
            ))
        })?;
        if info.format != CLASSIFIER_FORMAT {
            return Err(Error::Invalid(format!(
                "{}: info.json has format '{}', expected '{CLASSIFIER_FORMAT}'",
                dir.display(),
                info.format
            )));
        }
        info.validate().map_err(|problem| {
            Error::Invalid(format!("{}: info.json: {problem}", dir.display()))
        })?;
        Ok(Some(info))
    }

    /// Checks what `load` read: sizes a decoder can make, a known resize filter and base.
    fn validate(&self) -> std::result::Result<(), String> {
        if self.class_names.len() < 2 {
            return Err(format!(
                "a classifier has at least two classes, got {:?}",
                self.class_names
            ));
        }
        if let Some(side) = self.image_size.iter().find(|s| !(1..=4096).contains(*s)) {
            return Err(format!("image_size {side} is not in 1..=4096"));
        }
        ResizeFilter::parse(&self.interpolation).map_err(|e| e.to_string())?;
        match &self.preprocessing {
            Preprocessing::Rescale { scale } if !(scale.is_finite() && *scale > 0.0) => Err(
                format!("preprocessing scale must be finite and positive, got {scale}"),
            ),
            Preprocessing::Base { base, .. } => {
                base.parse::<Base>().map(|_| ()).map_err(|e| e.to_string())
            }
            Preprocessing::Rescale { .. } | Preprocessing::Mode { .. } => Ok(()),
        }
    }

    /// Checks that `model` is the classifier this info describes: it takes
    /// `(3, height, width)` images and gives one output per class (one unit for binary
    /// labels).
    pub fn check_model(&self, model: &dyn Model, dir: &Path) -> Result<()> {
        let [h, w] = self.image_size.map(|s| s as i64);
        let input = model.input_shape().map(|s| s.to_vec());
        let units = if self.label_mode == "binary" {
            1
        } else {
            self.class_names.len() as i64
        };
        let output = model.output_shape().unwrap_or_default();
        if input.as_deref() != Some(&[3, h, w][..]) || output.last() != Some(&units) {
            return Err(Error::Invalid(format!(
                "{}: info.json describes {} classes ({} labels) on 3x{h}x{w} images, but the \
                 model takes {:?} and gives {:?}",
                dir.display(),
                self.class_names.len(),
                self.label_mode,
                input.unwrap_or_default(),
                output
            )));
        }
        Ok(())
    }

    /// As JSON, for [`save_model_with_info`] and `ModelCheckpoint::info`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!(self)
    }

    /// Saves `model` with this info as the model directory `dir`.
    pub fn save_with(&self, model: &dyn Model, dir: &Path) -> Result<()> {
        Ok(save_model_with_info(model, dir, Some(&self.to_json()))?)
    }

    /// The decoder that turns a file into the model's `(H, W, 3)` pixels.
    pub fn decoder(&self) -> Result<ImageDecoder> {
        Ok(ImageDecoder {
            target_size: (self.image_size[0], self.image_size[1]),
            color_mode: ColorMode::Rgb,
            filter: ResizeFilter::parse(&self.interpolation)?,
            max_pixels: convkit_data::image_file::MAX_IMAGE_PIXELS,
            dct_scaling: false,
        })
    }

    /// The background removal, when the model was trained with it.
    pub fn background_removal(&self) -> Option<BackgroundRemoval> {
        self.background_removal
            .then(BackgroundRemoval::plant_greens)
    }

    /// Image files as the model's input batch `(N, 3, H, W)`: decoded, resized, background
    /// removed when trained so, and preprocessed.
    pub fn load_inputs(&self, paths: &[PathBuf]) -> Result<Tensor> {
        self.preprocess(&self.load_pixels(paths)?)
    }

    /// Image files as `(N, 3, H, W)` pixels in `[0, 255]`, decoded and resized as in
    /// training, background removed when trained so (not yet preprocessed).
    pub fn load_pixels(&self, paths: &[PathBuf]) -> Result<Tensor> {
        let decoder = self.decoder()?;
        let removal = self.background_removal();
        let mut items = Vec::with_capacity(paths.len());
        for p in paths {
            let img = decoder
                .load(p)
                .map_err(|problem| Error::Invalid(format!("{}: {problem}", p.display())))?;
            let img: HwcImage = match &removal {
                Some(r) => r.apply(img),
                None => img,
            };
            let (h, w, c) = (
                img.height() as i64,
                img.width() as i64,
                img.channels() as i64,
            );
            let hwc = Tensor::f_from_slice(img.data())?.f_view([h, w, c])?;
            items.push(hwc.f_permute([2, 0, 1])?);
        }
        Ok(Tensor::f_stack(&items, 0)?.f_to_kind(Kind::Float)?)
    }

    /// `[0, 255]` NCHW pixels to the model's input.
    pub fn preprocess(&self, x: &Tensor) -> Result<Tensor> {
        match &self.preprocessing {
            Preprocessing::Rescale { scale } => Ok(x.f_mul_scalar(*scale)?),
            Preprocessing::Mode { mode } => mode.apply(x),
            Preprocessing::Base { base, weights } => {
                let base: Base = base.parse()?;
                base.preprocess(Some(Path::new(weights)), x)
            }
        }
    }
}
