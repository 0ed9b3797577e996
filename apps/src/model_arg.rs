//! `--model M [--weights FILE]`: a saved model directory or an application name with its
//! weights, and how images reach it (size, channels, preprocessing, class names).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use convkit_layers::applications::{decode_predictions, Pooling};
use convkit_layers::prelude::*;
use convkit_tensor::tch::{Device, Kind, Tensor};

use convkit::classifier_info::{ClassifierInfo, Preprocessing};
use convkit::preprocess_mode::PreprocessMode;
use convkit::pretrained::{load_images, weights_path, Base};
use convkit_layers::saving::keras_archive::{is_keras_archive, load_keras_model};

/// The `--model` / `--weights` / `--rescale` flags.
#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// A saved model directory (model.json), a Keras 3 `.keras` file, or an application:
    /// efficientnet-lite0, vgg16, xception, resnet50.
    #[arg(long)]
    pub model: String,
    /// Weights file of an application (Keras' .h5, .pth or .safetensors; default: the one
    /// found offline).
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// With an application: keep its ImageNet classifier (`false`: the convolutional base,
    /// whose features `--json` writes; Keras' `include_top`).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub include_top: bool,
    /// With `--include-top false`: what follows the base (avg, max or none; Keras' `pooling`).
    #[arg(long, default_value = "avg", value_parser = ["avg", "max", "none"])]
    pub pooling: String,
    /// Scale applied to [0, 255] pixels before a saved model (default 1/255, as convkit's
    /// trainings use; 1 for a `.keras` model that starts with a Rescaling layer, as the
    /// book's do).
    #[arg(long, allow_hyphen_values = true, value_parser = crate::ranges::FloatRange::above(0.0, 1e6).parser())]
    pub rescale: Option<f64>,
    /// Pixel preprocessing instead of the model's own: the one its weights expect for an
    /// application (Keras' VGG16 and ResNet50 files caffe, Keras' Xception tf, torchvision's
    /// VGG16 torch, EfficientNet-Lite0 efficientnet-lite), what `train` recorded for a
    /// classifier. One of caffe, tf, torch, efficientnet-lite, unit (x / 255), raw.
    #[arg(long, conflicts_with = "rescale")]
    pub preprocess: Option<PreprocessMode>,
}

/// Where the model came from.
enum Origin {
    /// A model directory without classifier info: `--rescale` scales its pixels.
    Saved { rescale: f64 },
    /// A classifier saved by `convkit train`: its info says how images reach it.
    Classifier(ClassifierInfo),
    Application {
        base: Base,
        weights: PathBuf,
        /// With the ImageNet classifier (else the base's features).
        include_top: bool,
    },
}

/// One of the top classes of an image.
#[derive(Debug, Clone, PartialEq)]
pub struct TopClass {
    /// Class index.
    pub index: i64,
    /// Class name (`class N` when the model has no names).
    pub class: String,
    /// Probability (the model's output).
    pub probability: f64,
}

/// A model ready for pictures.
pub struct LoadedModel {
    /// The network.
    pub model: Box<dyn Model>,
    /// Input channels (1 or 3).
    pub channels: i64,
    /// Input side (square).
    pub side: i64,
    origin: Origin,
    /// `--preprocess`, when given.
    preprocess: Option<PreprocessMode>,
}

impl LoadedModel {
    /// Loads `--model` (with `--weights` for an application).
    pub fn load(args: &ModelArgs, device: Device) -> anyhow::Result<LoadedModel> {
        let mut loaded = Self::load_model(args, device)?;
        loaded.preprocess = args.preprocess;
        Ok(loaded)
    }

    fn load_model(args: &ModelArgs, device: Device) -> anyhow::Result<LoadedModel> {
        let dir = Path::new(&args.model);
        if let Some(dir) = model_dir(dir).as_deref() {
            let model = load_model(dir, device)?;
            let info = ClassifierInfo::load(dir)?;
            if let Some(info) = &info {
                info.check_model(model.as_ref(), dir)?;
            }
            let origin = match info {
                Some(info) => Origin::Classifier(info),
                None => Origin::Saved {
                    rescale: args.rescale.unwrap_or(1.0 / 255.0),
                },
            };
            return LoadedModel::square_image_model(model, dir, origin);
        }
        if is_keras_archive(dir) {
            let model = load_keras_model(dir, device)?;
            // A classifier convkit trained and exported keeps its info in the archive.
            if let Some(info) = ClassifierInfo::load(dir)? {
                info.check_model(model.as_ref(), dir)?;
                return LoadedModel::square_image_model(model, dir, Origin::Classifier(info));
            }
            let rescale = args
                .rescale
                .unwrap_or(if starts_with_rescaling(model.as_ref()) {
                    1.0
                } else {
                    1.0 / 255.0
                });
            return LoadedModel::square_image_model(model, dir, Origin::Saved { rescale });
        }
        if dir.exists() {
            anyhow::bail!(
                "{}: not a model directory (model.json is missing)",
                dir.display()
            );
        }
        let base: Base = args.model.parse().map_err(|e| {
            anyhow::anyhow!(
                "--model {}: no such model directory, and not an application ({e})",
                dir.display()
            )
        })?;
        let weights = weights_path(base, args.weights.as_deref(), args.include_top)?;
        let pooling = match args.pooling.as_str() {
            "max" => Pooling::Max,
            "none" => Pooling::None,
            _ => Pooling::Avg,
        };
        let mut model = base.build(args.include_top, base.imagenet_size(), pooling, device)?;
        base.load_weights(&mut model, &weights)
            .map_err(|e| without_top_hint(e, args.include_top))?;
        Ok(LoadedModel {
            model: Box::new(model),
            channels: 3,
            side: base.imagenet_size(),
            origin: Origin::Application {
                base,
                weights,
                include_top: args.include_top,
            },
            preprocess: None,
        })
    }

    /// The classifier info a model trained by `convkit train` came with (class names,
    /// labels, preprocessing).
    pub fn classifier(&self) -> Option<&ClassifierInfo> {
        match &self.origin {
            Origin::Classifier(info) => Some(info),
            _ => None,
        }
    }

    /// Whether the model is an ImageNet application (1,000 classes, or its base's features).
    pub fn is_application(&self) -> bool {
        matches!(self.origin, Origin::Application { .. })
    }

    /// What a saved copy of the model keeps besides its layers: a trained classifier's
    /// [`ClassifierInfo`] (class names, preprocessing), `None` for other models.
    pub fn info_json(&self) -> Option<serde_json::Value> {
        match &self.origin {
            Origin::Classifier(info) => {
                let mut info = info.clone();
                if let Some(mode) = self.preprocess {
                    info.preprocessing = Preprocessing::Mode { mode };
                }
                Some(info.to_json())
            }
            _ => None,
        }
    }

    /// A saved model that takes square images of 1 or 3 channels (what these commands take).
    fn square_image_model(
        model: Box<dyn Model>,
        path: &Path,
        origin: Origin,
    ) -> anyhow::Result<LoadedModel> {
        let shape = model
            .input_shape()
            .context("the saved model has no input shape")?
            .to_vec();
        anyhow::ensure!(
            shape.len() == 3 && shape[1] == shape[2] && (shape[0] == 1 || shape[0] == 3),
            "this command takes square image models with 1 or 3 channels; {} takes {shape:?}",
            path.display()
        );
        Ok(LoadedModel {
            model,
            channels: shape[0],
            side: shape[1],
            origin,
            preprocess: None,
        })
    }

    /// Images as the model's input `(N, C, side, side)` in [0, 255], resized; gray when the
    /// model takes one channel.
    pub fn load_raw(&self, paths: &[PathBuf]) -> anyhow::Result<Tensor> {
        if let Origin::Classifier(info) = &self.origin {
            return Ok(info.load_pixels(paths)?);
        }
        let x = load_images(paths, self.side)?;
        Ok(if self.channels == 1 {
            x.f_mean_dim([1i64].as_slice(), true, Kind::Float)?
        } else {
            x
        })
    }

    /// `[0, 255]` pixels to what the model takes.
    pub fn preprocess(&self, x: &Tensor) -> anyhow::Result<Tensor> {
        if let Some(mode) = self.preprocess {
            return Ok(mode.apply(x)?);
        }
        match &self.origin {
            Origin::Saved { rescale } => Ok(x.f_mul_scalar(*rescale)?),
            Origin::Classifier(info) => Ok(info.preprocess(x)?),
            Origin::Application { base, weights, .. } => Ok(base.preprocess(Some(weights), x)?),
        }
    }

    /// The `top` classes of each row of `probs` (the model's outputs): by name for an
    /// application or a classifier saved by `train`; a single sigmoid unit gives both of its
    /// two classes.
    pub fn top_classes(&self, probs: &Tensor, top: usize) -> anyhow::Result<Vec<Vec<TopClass>>> {
        if let Origin::Application {
            include_top: true, ..
        } = self.origin
        {
            return Ok(decode_predictions(probs, top)?
                .into_iter()
                .map(|preds| {
                    preds
                        .into_iter()
                        .map(|p| TopClass {
                            index: p.index,
                            class: p.name.to_string(),
                            probability: p.probability,
                        })
                        .collect()
                })
                .collect());
        }
        let names = match &self.origin {
            Origin::Classifier(info) => Some(&info.class_names),
            _ => None,
        };
        let unnamed = match self.origin {
            Origin::Application { .. } => "feature",
            _ => "class",
        };
        let name = |i: i64| {
            names
                .and_then(|n| n.get(i as usize))
                .cloned()
                .unwrap_or_else(|| format!("{unnamed} {i}"))
        };
        let rows = probs.f_to_kind(Kind::Double)?.f_to_device(Device::Cpu)?;
        let n = rows.size()[0];
        (0..n)
            .map(|i| {
                let row: Vec<f64> = Vec::try_from(rows.f_get(i)?.f_reshape([-1])?)?;
                let mut scored: Vec<(i64, f64)> = if row.len() == 1 {
                    vec![(0, 1.0 - row[0]), (1, row[0])]
                } else {
                    row.iter()
                        .enumerate()
                        .map(|(k, &p)| (k as i64, p))
                        .collect()
                };
                scored.sort_by(|a, b| b.1.total_cmp(&a.1));
                scored.truncate(top);
                Ok(scored
                    .into_iter()
                    .map(|(index, probability)| TopClass {
                        index,
                        class: name(index),
                        probability,
                    })
                    .collect())
            })
            .collect()
    }

    /// The `top` classes of each row of `probs`, as text.
    pub fn describe(&self, probs: &Tensor, top: usize) -> anyhow::Result<Vec<Vec<String>>> {
        let application = matches!(self.origin, Origin::Application { .. });
        Ok(self
            .top_classes(probs, top)?
            .into_iter()
            .map(|classes| {
                classes
                    .into_iter()
                    .map(|c| {
                        if application {
                            format!("{} ({}) {:.2}%", c.class, c.index, c.probability * 100.0)
                        } else {
                            format!("{} {:.4}", c.class, c.probability)
                        }
                    })
                    .collect()
            })
            .collect())
    }
}

/// The file stem of `path` (for output names).
pub fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image".into())
}

/// A weights file without the classifier loaded into a model with it: say how to load it.
fn without_top_hint(e: convkit::Error, include_top: bool) -> anyhow::Error {
    let text = e.to_string();
    if include_top && text.contains("'predictions'") && text.contains("no weights for a layer") {
        anyhow::anyhow!("{text}\n(the file has no ImageNet classifier: add --include-top false)")
    } else {
        e.into()
    }
}

/// Whether the model scales its own pixels: a `Rescaling` layer before any layer with
/// weights (nested models, such as an augmentation block, are looked into).
pub(crate) fn starts_with_rescaling(model: &dyn Model) -> bool {
    for layer in model.layers() {
        if layer.class_name() == "Rescaling" {
            return true;
        }
        if let Some(inner) = layer.as_model() {
            if starts_with_rescaling(inner) {
                return true;
            }
        }
        if !layer.named_params().is_empty() {
            return false;
        }
    }
    false
}
