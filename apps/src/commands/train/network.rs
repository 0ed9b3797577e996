//! `--model`, `--mode`, `--head`, `--augment`, `--label-mode`: what network `train` builds,
//! what it learns with, and how images reach it.

use std::path::PathBuf;
use std::sync::Arc;

use convkit::classifier_info::{ClassifierInfo, Preprocessing, CLASSIFIER_FORMAT};
use convkit::pretrained::{weights_path, Base};
use convkit_augment::ops::BackgroundRemoval;
use convkit_augment::pipeline::Sequential as AugmentSequence;
use convkit_augment::{Augmenter, ImageDataGenerator};
use convkit_data::image_folder::{LabelMode, ResizeFilter};
use convkit_layers::applications::{
    book_augmentation, mini_xception_classifier, small_convnet_classifier, ClassifierTop, Pooling,
};
use convkit_layers::prelude::*;
use convkit_layers::saving::keras_archive::is_keras_archive;
use convkit_tensor::tch::Device;

use super::dataset::Splits;
use super::keras_model::keras_classifier_info;
use super::TrainArgs;

/// What `--model` names.
#[derive(Debug, Clone, PartialEq)]
pub enum Network {
    /// The book's 4-block convnet.
    SmallConvnet,
    /// The book's mini-Xception.
    MiniXception,
    /// Flatten + Dense(classes): the finance chapter's baseline.
    Logistic,
    /// A pretrained base with a new head.
    Pretrained {
        /// The application.
        base: Base,
        /// Its weights file.
        weights: PathBuf,
        /// features, frozen or finetune.
        mode: BaseMode,
        /// The head.
        head: Head,
        /// What follows the base.
        pooling: Pooling,
    },
    /// A model directory saved by an earlier `train`, trained on.
    Saved(PathBuf),
}

/// How a pretrained base is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseMode {
    /// Its features cached once, a dense head trained on them.
    Features,
    /// Frozen inside the model, augmentation in the model.
    Frozen,
    /// Frozen, then unfrozen from its top block at a low learning rate.
    Finetune,
}

/// The head on a pretrained base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Head {
    /// Dense(256, relu) - Dropout(0.5) - top (the book).
    Dense256Dropout,
    /// Flatten - top (the finance chapter).
    FlattenDense,
}

/// Where the per-image augmentation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Augmentation {
    /// None.
    None,
    /// Keras' ImageDataGenerator with the book's settings (per image, in the loader), or the
    /// book's augmentation layers in the model (frozen base, mini-Xception).
    Book,
    /// The finance chapter's imgaug pipeline (per image, in the loader).
    Imgaug,
}

/// Everything decided before training.
pub struct Plan {
    /// The network asked for.
    pub network: Network,
    /// Labels of the folders.
    pub label_mode: LabelMode,
    /// The last layer.
    pub top: ClassifierTop,
    /// The loss.
    pub loss: Loss,
    /// The metrics (accuracy, plus top-5 with more than 5 classes).
    pub metrics: Vec<Metric>,
    /// Input side.
    pub size: i64,
    /// Augmentation asked for.
    pub augmentation: Augmentation,
    /// Epochs (of the first phase).
    pub epochs: usize,
    /// Learning rate (of the first phase).
    pub lr: f64,
    /// What `predict` needs besides the layers.
    pub info: ClassifierInfo,
}

fn parse_label_mode(name: &str, classes: usize) -> anyhow::Result<LabelMode> {
    let mode = match name {
        "auto" if classes == 2 => LabelMode::Binary,
        "auto" => LabelMode::Sparse,
        other => LabelMode::parse(other)?,
    };
    anyhow::ensure!(
        mode != LabelMode::None,
        "--label-mode none has no labels to train on"
    );
    anyhow::ensure!(
        mode != LabelMode::Binary || classes == 2,
        "--label-mode binary needs exactly two classes, the folder has {classes}"
    );
    Ok(mode)
}

fn label_mode_name(mode: LabelMode) -> &'static str {
    match mode {
        LabelMode::Binary => "binary",
        LabelMode::Categorical => "categorical",
        _ => "sparse",
    }
}

impl Plan {
    /// Reads the options against the data.
    pub fn new(args: &TrainArgs, splits: &Splits, _device: Device) -> anyhow::Result<Plan> {
        let classes = splits.class_names.len();
        let path = std::path::Path::new(&args.model);
        let keras_file = is_keras_archive(path) && path.is_file();
        let saved = convkit_layers::saving::model_dir(path)
            .or_else(|| keras_file.then(|| path.to_path_buf()));
        let saved_info = match &saved {
            Some(dir) => Some(match ClassifierInfo::load(dir)? {
                Some(info) => {
                    if let Some(mode) = args.preprocess {
                        anyhow::ensure!(
                            info.preprocessing == Preprocessing::Mode { mode },
                            "--preprocess {mode}: {} was trained on pixels preprocessed as \
                             {:?}; it goes on with the same",
                            dir.display(),
                            info.preprocessing
                        );
                    }
                    info
                }
                None if keras_file => keras_classifier_info(dir, args, splits)?,
                None => anyhow::bail!(
                    "--model {}: this model directory has no info.json (class names and \
                     preprocessing); only models saved by `convkit train` can be trained on",
                    dir.display()
                ),
            }),
            None => None,
        };
        if let Some(info) = &saved_info {
            anyhow::ensure!(
                info.class_names == splits.class_names,
                "--model {}: it was trained on the classes [{}], the folder has [{}]; the labels \
                 would not mean the same thing",
                args.model,
                info.class_names.join(", "),
                splits.class_names.join(", ")
            );
        }
        let label_mode = match &saved_info {
            Some(info) => parse_label_mode(&info.label_mode, classes)?,
            None => parse_label_mode(&args.label_mode, classes)?,
        };
        let (top, loss) = match label_mode {
            LabelMode::Binary => (
                ClassifierTop::BINARY,
                Loss::BinaryCrossentropy { from_logits: false },
            ),
            LabelMode::Categorical => (
                ClassifierTop::softmax(classes as i64),
                Loss::CategoricalCrossentropy { from_logits: false },
            ),
            _ => (
                ClassifierTop::softmax(classes as i64),
                Loss::SparseCategoricalCrossentropy { from_logits: false },
            ),
        };
        let mut metrics = vec![Metric::Accuracy];
        if classes > 5 {
            metrics.push(match label_mode {
                LabelMode::Categorical => Metric::TopKCategoricalAccuracy(5),
                _ => Metric::SparseTopKCategoricalAccuracy(5),
            });
        }
        let augmentation = match args.augment.as_str() {
            "none" => Augmentation::None,
            "book" => Augmentation::Book,
            "imgaug" => Augmentation::Imgaug,
            other => anyhow::bail!("--augment must be none, book or imgaug, got '{other}'"),
        };
        let network = match (saved, args.model.as_str()) {
            (Some(dir), _) => Network::Saved(dir),
            (None, "small-convnet") => Network::SmallConvnet,
            (None, "mini-xception") => Network::MiniXception,
            (None, "logistic") => Network::Logistic,
            (None, name) => {
                let base: Base = name.parse().map_err(|e| {
                    anyhow::anyhow!(
                        "--model {name}: not small-convnet, mini-xception, logistic or a saved \
                         model directory, and not a pretrained base ({e})"
                    )
                })?;
                let mode = match args.mode.as_str() {
                    "features" => BaseMode::Features,
                    "frozen" => BaseMode::Frozen,
                    "finetune" => BaseMode::Finetune,
                    other => {
                        anyhow::bail!("--mode must be features, frozen or finetune, got '{other}'")
                    }
                };
                let head = match args.head.as_str() {
                    "dense256-dropout" => Head::Dense256Dropout,
                    "flatten-dense" => Head::FlattenDense,
                    other => anyhow::bail!(
                        "--head must be dense256-dropout or flatten-dense, got '{other}'"
                    ),
                };
                let pooling = match (args.pooling.as_deref(), head) {
                    (Some("avg"), _) => Pooling::Avg,
                    (Some("max"), _) => Pooling::Max,
                    (Some("flatten"), _) | (None, Head::FlattenDense) => Pooling::None,
                    (None, Head::Dense256Dropout) => Pooling::Avg,
                    (Some(other), _) => {
                        anyhow::bail!("--pooling must be avg, max or flatten, got '{other}'")
                    }
                };
                anyhow::ensure!(
                    mode != BaseMode::Features || augmentation == Augmentation::None,
                    "--mode features computes the base's features once and caches them, so \
                     they cannot be augmented; use --mode frozen or finetune with --augment"
                );
                Network::Pretrained {
                    base,
                    weights: weights_path(base, args.weights.as_deref(), false)?,
                    mode,
                    head,
                    pooling,
                }
            }
        };
        let size = match (&saved_info, &network) {
            (Some(info), _) => {
                anyhow::ensure!(
                    args.size.is_none() || args.size == Some(info.image_size[0] as i64),
                    "--size {}: the saved model takes {}x{} images",
                    args.size.unwrap_or_default(),
                    info.image_size[0],
                    info.image_size[1]
                );
                info.image_size[0] as i64
            }
            (None, Network::Pretrained { .. }) if splits.stand_in => args.size.unwrap_or(128),
            (None, _) if splits.stand_in => args.size.unwrap_or(64),
            (None, _) => args.size.unwrap_or(150),
        };
        anyhow::ensure!(
            network != Network::SmallConvnet || size >= 46,
            "--size must be at least 46 for the small convnet's four conv/pool blocks"
        );
        // Models trained from the pixels up: the book's convnets, and the logistic baseline, whose
        // thousands of inputs per unit saturate the softmax within an epoch at RMSprop's 1e-3.
        let from_scratch = matches!(
            network,
            Network::SmallConvnet | Network::MiniXception | Network::Logistic
        );
        let epochs = args.epochs.unwrap_or(match network {
            Network::Pretrained {
                mode: BaseMode::Features,
                ..
            } => 20,
            Network::Pretrained { .. } => 5,
            _ => 30,
        });
        let lr = args.lr.unwrap_or(if from_scratch { 1e-4 } else { 1e-3 });
        let preprocessing = match (&saved_info, &network, args.preprocess) {
            (Some(info), _, _) => info.preprocessing.clone(),
            (None, _, Some(mode)) => Preprocessing::Mode { mode },
            (None, Network::Pretrained { base, weights, .. }, None) => Preprocessing::Mode {
                mode: base.preprocess_mode(Some(weights)),
            },
            // mini-Xception rescales in the model.
            (None, Network::MiniXception, None) => Preprocessing::Rescale { scale: 1.0 },
            (None, _, None) => Preprocessing::Rescale { scale: 1.0 / 255.0 },
        };
        let background_removal = match &saved_info {
            Some(info) => {
                anyhow::ensure!(
                    !args.background_removal || info.background_removal,
                    "--background-removal: the saved model was trained without it"
                );
                info.background_removal
            }
            None => args.background_removal,
        };
        let info = ClassifierInfo {
            format: CLASSIFIER_FORMAT.into(),
            class_names: splits.class_names.clone(),
            label_mode: label_mode_name(label_mode).into(),
            image_size: [size as usize, size as usize],
            interpolation: {
                ResizeFilter::parse(&args.interpolation)?;
                args.interpolation.clone()
            },
            background_removal,
            preprocessing,
        };
        Ok(Plan {
            network,
            label_mode,
            top,
            loss,
            metrics,
            size,
            augmentation,
            epochs,
            lr,
            info,
        })
    }

    /// Whether the book's augmentation runs as layers in the model (a frozen base, the
    /// mini-Xception) rather than per image in the loader.
    pub fn augments_in_model(&self) -> bool {
        self.augmentation == Augmentation::Book
            && matches!(
                self.network,
                Network::MiniXception
                    | Network::Pretrained {
                        mode: BaseMode::Frozen | BaseMode::Finetune,
                        ..
                    }
            )
    }

    /// The per-image work of the training loader: background removal, then the
    /// augmentation (unless it runs in the model).
    pub fn train_augmenter(&self) -> anyhow::Result<Option<Arc<dyn Augmenter>>> {
        let mut steps: Vec<Box<dyn Augmenter>> = Vec::new();
        if self.info.background_removal {
            steps.push(Box::new(BackgroundRemoval::plant_greens()));
        }
        if !self.augments_in_model() {
            match self.augmentation {
                Augmentation::None => {}
                Augmentation::Book => {
                    // The folder applies the rescale, for training and validation alike.
                    let mut generator = ImageDataGenerator::book();
                    generator.rescale = None;
                    steps.push(Box::new(generator));
                }
                Augmentation::Imgaug => {
                    steps.push(Box::new(convkit_augment::presets::imgaug_plants()?))
                }
            }
        }
        Ok(sequence(steps))
    }

    /// The per-image work of the validation, test and prediction loaders.
    pub fn eval_augmenter(&self) -> Option<Arc<dyn Augmenter>> {
        let steps: Vec<Box<dyn Augmenter>> = if self.info.background_removal {
            vec![Box::new(BackgroundRemoval::plant_greens())]
        } else {
            Vec::new()
        };
        sequence(steps)
    }

    /// The network on images, untrained (or as saved), for every mode but `features`.
    pub fn build(&self, device: Device) -> anyhow::Result<Box<dyn Model>> {
        let size = self.size;
        let shape = [3, size, size];
        Ok(match &self.network {
            Network::SmallConvnet => {
                let dropout = (self.augmentation != Augmentation::None).then_some(0.5);
                Box::new(small_convnet_classifier(size, self.top, dropout, device)?)
            }
            Network::MiniXception => Box::new(mini_xception_classifier(
                size,
                self.top,
                self.augments_in_model(),
                device,
            )?),
            Network::Logistic => {
                let mut m = Sequential::new()
                    .named("logistic")
                    .on_device(device)
                    .with_input_shape(shape);
                m.add(Flatten::new())?;
                m.add(self.top.dense())?;
                Box::new(m)
            }
            Network::Saved(dir) => {
                let model = load_model(dir, device)?;
                self.info.check_model(model.as_ref(), dir)?;
                model
            }
            Network::Pretrained {
                base,
                weights,
                head,
                pooling,
                ..
            } => {
                let mut conv_base = base.build(false, size, *pooling, device)?;
                base.load_weights(&mut conv_base, weights)?;
                conv_base.set_trainable(false);
                let mut g = Graph::new().on_device(device);
                let inputs = g.input(shape);
                let mut x = inputs;
                if self.augments_in_model() {
                    x = g.apply(book_augmentation(shape, device)?, x)?;
                }
                x = g.apply(conv_base, x)?;
                let out = apply_head(&mut g, x, *head, *pooling, self.top)?;
                Box::new(g.model("classifier", &[inputs], &[out])?)
            }
        })
    }
}

/// `steps` as one augmenter (`None` when empty).
fn sequence(mut steps: Vec<Box<dyn Augmenter>>) -> Option<Arc<dyn Augmenter>> {
    match steps.len() {
        0 => None,
        1 => steps.pop().map(Arc::from),
        _ => Some(Arc::new(AugmentSequence::new(steps))),
    }
}

/// The head on `x`, the output of a base followed by `pooling`.
pub fn apply_head(
    g: &mut Graph,
    mut x: SymbolicTensor,
    head: Head,
    pooling: Pooling,
    top: ClassifierTop,
) -> anyhow::Result<SymbolicTensor> {
    if pooling == Pooling::None {
        x = g.apply(Flatten::new(), x)?;
    }
    if head == Head::Dense256Dropout {
        x = g.apply(Dense::new(256).activation(Activation::Relu), x)?;
        x = g.apply(Dropout::new(0.5), x)?;
    }
    Ok(g.apply(top.dense(), x)?)
}
