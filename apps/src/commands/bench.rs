//! `convkit bench`: throughput of the image-folder loader and per-transform speed, printed as
//! one JSON line at the end (read by `benches/compare/compare_loader.py`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Subcommand};
use convkit_augment::ops::{
    AdditiveGaussianNoise, Fliplr, GaussianBlur, LinearContrast, Multiply, RandomAffine,
};
use convkit_augment::{Augmenter, HwcImage, ImageDataGenerator};
use convkit_data::image_folder::options::ResizeFilter;
use convkit_data::image_folder::{DecodedCache, ImageFolder, ImageFolderOptions, LabelMode};
use convkit_tensor::BatchSource;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use crate::ranges;
use crate::runtime::RuntimeArgs;

/// Arguments of `convkit bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: BenchWhat,
}

#[derive(Subcommand, Debug)]
enum BenchWhat {
    /// Images per second of the full loader over a class folder.
    Loader(LoaderArgs),
    /// Microseconds per image of each per-image transform.
    Transforms(TransformArgs),
    /// Train the small convnet from the streaming loader and from preloaded tensors, and
    /// compare validation accuracy and seconds per epoch.
    Train(TrainArgs),
    /// Milliseconds per training step of the book's MNIST or cats-vs-dogs convnet.
    Step(super::bench_step::StepArgs),
    /// Images per second of EfficientNet-Lite0 feature extraction over a class folder.
    Features(super::bench_features::FeaturesArgs),
}

/// Arguments of `convkit bench train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Class folder (DIR/CLASS/IMAGE); the first 20% of each class validates.
    dir: PathBuf,
    /// Input side.
    #[arg(long, default_value_t = 64, value_parser = ranges::picture_side())]
    size: usize,
    /// Epochs of each run.
    #[arg(long, default_value_t = 4, value_parser = ranges::count(1, 1_000))]
    epochs: usize,
    /// Batch size.
    #[arg(long, default_value_t = 32, value_parser = ranges::batch_size())]
    batch_size: usize,
    /// Decoded-image cache of the streaming run: none, memory, disk.
    #[arg(long, default_value = "none")]
    cache: String,
    /// Loader threads.
    #[arg(long, default_value_t = 2, value_parser = ranges::loader_threads())]
    loader_threads: usize,
    /// Runs: streaming,preloaded (both, compared), or streaming alone — which also
    /// validates from the folder, so that nothing of the dataset is held in memory and the
    /// growth of the resident memory measures the loader.
    #[arg(long, value_delimiter = ',', default_value = "streaming,preloaded")]
    modes: Vec<String>,
    #[command(flatten)]
    rt: RuntimeArgs,
}

/// Resident and peak resident memory of this process in MiB (`VmRSS`, `VmHWM`), Linux only.
fn resident_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Arguments of `convkit bench loader`.
#[derive(Args, Debug)]
pub struct LoaderArgs {
    /// Class folder (DIR/CLASS/IMAGE).
    dir: PathBuf,
    /// Output side (square).
    #[arg(long, default_value_t = 150, value_parser = ranges::picture_side())]
    size: usize,
    /// Batch size.
    #[arg(long, default_value_t = 32, value_parser = ranges::batch_size())]
    batch_size: usize,
    /// Epochs; the first is reported apart (warm-up, and it fills the cache).
    #[arg(long, default_value_t = 3, value_parser = ranges::count(1, 1_000))]
    epochs: usize,
    /// Augmentation: book (rotation 40, shifts 0.2, shear 0.2, zoom 0.2, flip) or none.
    #[arg(long, default_value = "book")]
    augment: String,
    /// Decoded-image cache: none, memory, disk.
    #[arg(long, default_value = "none")]
    cache: String,
    /// Loader threads (default: --threads, else one per core).
    #[arg(long, value_parser = ranges::loader_threads())]
    loader_threads: Option<usize>,
    /// Resize filter (flow_from_directory's nearest by default).
    #[arg(long, default_value = "nearest")]
    interpolation: String,
    /// Decode JPEGs at 1/2, 1/4 or 1/8 scale where the size allows (PIL's draft(); the
    /// pixels are then no longer Keras' own).
    #[arg(long)]
    dct_scaling: bool,
    #[command(flatten)]
    rt: RuntimeArgs,
}

/// Arguments of `convkit bench transforms`.
#[derive(Args, Debug)]
pub struct TransformArgs {
    /// Image side (square).
    #[arg(long, default_value_t = 150, value_parser = ranges::picture_side())]
    size: usize,
    /// Images per transform.
    #[arg(long, default_value_t = 500, value_parser = ranges::count(1, 1_000_000))]
    iters: usize,
    /// Take the images from this class folder (else a synthetic image).
    #[arg(long)]
    dir: Option<PathBuf>,
    #[command(flatten)]
    rt: RuntimeArgs,
}

/// Runs `convkit bench ...`.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.what {
        BenchWhat::Loader(a) => loader(a),
        BenchWhat::Transforms(a) => transforms(a),
        BenchWhat::Train(a) => train(a),
        BenchWhat::Step(a) => super::bench_step::run(a),
        BenchWhat::Features(a) => super::bench_features::run(a),
    }
}

fn loader(a: LoaderArgs) -> anyhow::Result<()> {
    a.rt.setup()?;
    let side = a.size as u64;
    ranges::check_memory(
        &format!("--batch-size {} at --size {}", a.batch_size, a.size),
        &[a.batch_size as u64, side, side, 3],
        4 * 4,
    )?;
    let threads = a.loader_threads.unwrap_or(a.rt.threads);
    let cache = cache_kind(&a.cache)?;
    let mut opts = ImageFolderOptions::flow_from_directory()
        .target_size(a.size, a.size)
        .batch_size(a.batch_size)
        .label_mode(LabelMode::Binary)
        .threads(threads)
        .interpolation(ResizeFilter::parse(&a.interpolation)?)
        .dct_scaling(a.dct_scaling)
        .cache(cache);
    // The book's generator carries rescale 1/255.
    match a.augment.as_str() {
        "book" => opts = opts.augment(Arc::new(ImageDataGenerator::book())),
        "none" => opts = opts.rescale(1.0 / 255.0),
        other => anyhow::bail!("--augment must be book or none, got '{other}'"),
    }
    let mut folder = ImageFolder::open(&a.dir, opts)?;
    println!("{}", folder.description());
    let mut per_epoch = Vec::new();
    for e in 0..a.epochs.max(1) {
        let t = Instant::now();
        let mut n = 0usize;
        for b in folder.epoch(e)? {
            n += b?.len();
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "epoch {}: {n} images in {secs:.2} s ({:.0} images/s)",
            e + 1,
            n as f64 / secs
        );
        per_epoch.push(n as f64 / secs);
    }
    let steady = if per_epoch.len() > 1 {
        per_epoch[1..].iter().sum::<f64>() / (per_epoch.len() - 1) as f64
    } else {
        per_epoch[0]
    };
    println!(
        "{}",
        json!({"images_per_sec": steady, "first_epoch_images_per_sec": per_epoch[0],
               "per_epoch": per_epoch, "threads": threads, "cache": a.cache, "augment": a.augment,
               "interpolation": a.interpolation, "dct_scaling": a.dct_scaling})
    );
    Ok(())
}

/// Preloaded tensors served in the folder's own per-epoch order, so the preloaded run sees
/// exactly the batches of the streaming run.
struct InFolderOrder {
    x: convkit_tensor::Tensor,
    y: convkit_tensor::Tensor,
    folder: ImageFolder,
    batch_size: usize,
}

impl BatchSource for InFolderOrder {
    fn num_samples(&self) -> usize {
        self.folder.num_samples()
    }
    fn batches_per_epoch(&self) -> usize {
        self.folder.batches_per_epoch()
    }
    fn epoch(
        &mut self,
        epoch: usize,
    ) -> convkit_tensor::Result<
        Box<dyn Iterator<Item = convkit_tensor::Result<convkit_tensor::Batch>> + '_>,
    > {
        let order: Vec<i64> = self
            .folder
            .order(epoch)
            .into_iter()
            .map(|i| i as i64)
            .collect();
        let chunks: Vec<Vec<i64>> = order.chunks(self.batch_size).map(|c| c.to_vec()).collect();
        let (x, y) = (&self.x, &self.y);
        Ok(Box::new(chunks.into_iter().map(move |c| {
            let i = convkit_tensor::Tensor::f_from_slice(&c)?;
            Ok(convkit_tensor::Batch::new(
                x.f_index_select(0, &i)?,
                y.f_index_select(0, &i)?,
            ))
        })))
    }
}

fn cache_kind(name: &str) -> anyhow::Result<DecodedCache> {
    Ok(match name {
        "none" => DecodedCache::None,
        "memory" => DecodedCache::Memory,
        "disk" => DecodedCache::Disk(std::env::temp_dir()),
        other => anyhow::bail!("--cache must be none, memory or disk, got '{other}'"),
    })
}

fn train(a: TrainArgs) -> anyhow::Result<()> {
    use convkit_data::image_folder::{SplitRule, Subset};
    use convkit_layers::prelude::*;
    use convkit_optim::RMSprop;

    let device = a.rt.setup()?;
    let opts = |subset| {
        ImageFolderOptions::flow_from_directory()
            .target_size(a.size, a.size)
            .batch_size(a.batch_size)
            .label_mode(LabelMode::Binary)
            .rescale(1.0 / 255.0)
            .threads(a.loader_threads)
            .validation_split(0.2, subset, SplitRule::FlowFromDirectory)
    };
    let mut results = serde_json::Map::new();
    for m in &a.modes {
        anyhow::ensure!(
            m == "streaming" || m == "preloaded",
            "--modes takes streaming and preloaded, got '{m}'"
        );
    }
    let streaming_only = !a.modes.iter().any(|m| m == "preloaded");
    for mode in ["streaming", "preloaded"] {
        if !a.modes.iter().any(|m| m == mode) {
            continue;
        }
        convkit_tensor::seed::set_seed(a.rt.seed);
        let mut model = convkit_layers::applications::small_convnet(a.size as i64, None, device)?;
        model.compile(
            RMSprop::new().learning_rate(1e-4),
            Loss::BinaryCrossentropy { from_logits: false },
            &[Metric::Accuracy],
        )?;
        let (rss_start, _) = resident_mib();
        let val = ImageFolder::open(&a.dir, opts(Subset::Validation).shuffle(false))?;
        let options = FitOptions::new()
            .epochs(a.epochs)
            .verbose(Verbosity::Silent);
        let options = if streaming_only {
            options.validation_source(val)
        } else {
            let (vx, vy) = val.preload()?;
            options.validation_data(vx, vy)
        };
        let train_folder =
            ImageFolder::open(&a.dir, opts(Subset::Training).cache(cache_kind(&a.cache)?))?;
        println!("{mode}: {}", train_folder.description());
        let t = Instant::now();
        let history = if mode == "streaming" {
            let mut src = train_folder;
            model.fit_source(&mut src, options)?
        } else {
            let (x, y) = train_folder.preload()?;
            println!(
                "preloaded {:?} in {:.1} s",
                x.size(),
                t.elapsed().as_secs_f64()
            );
            let mut src = InFolderOrder {
                x,
                y,
                folder: train_folder,
                batch_size: a.batch_size,
            };
            model.fit_source(&mut src, options)?
        };
        let secs = &history.epoch_seconds;
        let later = if secs.len() > 1 {
            &secs[1..]
        } else {
            &secs[..]
        };
        let mean = later.iter().sum::<f64>() / later.len() as f64;
        let val_acc = history
            .history
            .get("val_accuracy")
            .cloned()
            .unwrap_or_default();
        let (rss_end, peak) = resident_mib();
        println!("{mode}: epoch seconds {secs:.2?}, val_accuracy {val_acc:.4?}");
        println!(
            "{mode}: resident memory {rss_start:.0} MiB before the folders, {rss_end:.0} MiB \
             after training, peak {peak:.0} MiB: grew by {:.0} MiB",
            peak - rss_start
        );
        results.insert(
            mode.into(),
            json!({"epoch_seconds": secs, "mean_epoch_seconds_after_first": mean,
                   "val_accuracy": val_acc, "rss_start_mib": rss_start, "rss_end_mib": rss_end,
                   "rss_peak_mib": peak, "rss_growth_mib": peak - rss_start}),
        );
    }
    if streaming_only {
        println!("{}", serde_json::Value::Object(results));
        return Ok(());
    }
    let s = results["streaming"]["mean_epoch_seconds_after_first"]
        .as_f64()
        .unwrap_or(f64::NAN);
    let p = results["preloaded"]["mean_epoch_seconds_after_first"]
        .as_f64()
        .unwrap_or(f64::NAN);
    println!("streaming / preloaded epoch time: {:.3}", s / p);
    results.insert("epoch_time_ratio".into(), json!(s / p));
    println!("{}", serde_json::Value::Object(results));
    Ok(())
}

fn bench_images(a: &TransformArgs) -> anyhow::Result<Vec<HwcImage>> {
    if let Some(dir) = &a.dir {
        let folder = ImageFolder::open(
            dir,
            ImageFolderOptions::flow_from_directory()
                .target_size(a.size, a.size)
                .shuffle(false)
                .threads(1),
        )?;
        let n = folder.samples().len().min(200);
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            if let Some(img) = folder.load_sample(i, 0)? {
                out.push(img);
            }
        }
        anyhow::ensure!(!out.is_empty(), "no readable image in {}", dir.display());
        return Ok(out);
    }
    let s = a.size;
    let data = (0..s * s * 3)
        .map(|i| {
            let (p, c) = (i / 3, i % 3);
            let (r, col) = (p / s, p % s);
            ((r * 7 + col * 3 + c * 50 + (r * col) % 31) % 256) as u8
        })
        .collect();
    Ok(vec![HwcImage::new(s, s, 3, data)?])
}

fn transforms(a: TransformArgs) -> anyhow::Result<()> {
    a.rt.setup()?;
    let side = a.size as u64;
    ranges::check_memory(&format!("--size {}", a.size), &[side, side, 3], 16)?;
    let images = bench_images(&a).context("preparing images")?;
    let cases: Vec<(&str, Box<dyn Augmenter>)> = vec![
        ("flip", Box::new(Fliplr::new(1.0)?)),
        (
            "affine",
            Box::new(
                RandomAffine::new()
                    .rotate((-40.0, 40.0))?
                    .shear((-20.0, 20.0))?
                    .scale((0.8, 1.2))?
                    .translate_percent((-0.2, 0.2))?,
            ),
        ),
        ("blur", Box::new(GaussianBlur::new((0.0, 3.0))?)),
        ("contrast", Box::new(LinearContrast::new((0.75, 1.5))?)),
        (
            "noise",
            Box::new(AdditiveGaussianNoise::new(0.0, (0.0, 0.05 * 255.0))?.per_channel(1.0)?),
        ),
        (
            "multiply",
            Box::new(Multiply::new((0.8, 1.2))?.per_channel(1.0)?),
        ),
        (
            "image_data_generator_book",
            Box::new(ImageDataGenerator::book()),
        ),
    ];
    let mut results = serde_json::Map::new();
    let mut rng = ChaCha8Rng::seed_from_u64(a.rt.seed);
    for (name, aug) in &cases {
        for img in images.iter().take(20) {
            std::hint::black_box(aug.augment(img.clone(), &mut rng));
        }
        // time the clones apart and subtract them, as albumentations is timed on its own
        let t = Instant::now();
        for i in 0..a.iters {
            std::hint::black_box(images[i % images.len()].clone());
        }
        let clone_secs = t.elapsed().as_secs_f64();
        let t = Instant::now();
        for i in 0..a.iters {
            std::hint::black_box(aug.augment(images[i % images.len()].clone(), &mut rng));
        }
        let us = (t.elapsed().as_secs_f64() - clone_secs).max(0.0) * 1e6 / a.iters as f64;
        println!("{name:>28}: {us:8.1} us/image");
        results.insert(name.to_string(), json!(us));
    }
    println!("{}", serde_json::Value::Object(results));
    Ok(())
}
