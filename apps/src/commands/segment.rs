//! `convkit segment`: the book's image segmentation. A convnet that downsamples with strided
//! convolutions and upsamples with `Conv2DTranspose` predicts a class per pixel (object,
//! background, border), trained with per-pixel sparse categorical crossentropy, the best
//! epoch kept by `ModelCheckpoint(save_best_only)`, scored by mean IoU on held-out images,
//! whose predicted masks are written as PNG files beside them.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use convkit_data::digit_scenes::{export_oxford_layout, Backgrounds, SceneStyle};
use convkit_data::segmentation::{find_pairs, holdout_split, load_pairs};
use convkit_data::Mnist;
use convkit_layers::prelude::*;
use convkit_tensor::tch::{Kind, Tensor};
use convkit_tensor::TensorBatches;
use serde_json::json;

use crate::ranges;
use crate::runtime::{claim_out_dir, write_json, RuntimeArgs};

/// Arguments of `convkit segment`.
#[derive(Args, Debug)]
pub struct SegmentArgs {
    /// An Oxford-IIIT Pet folder (images/*.jpg, annotations/trimaps/*.png).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Output directory (model, history, curves, metrics, predicted masks).
    #[arg(long, default_value = "runs/segment")]
    out: PathBuf,
    /// Input side (the book: 200; 64 keeps a CPU run under 30 minutes).
    #[arg(long, default_value_t = 64, value_parser = ranges::input_side(16))]
    size: i64,
    /// Epochs (the book: 50).
    #[arg(long, default_value_t = 20, value_parser = ranges::epochs())]
    epochs: usize,
    /// Batch size (the book: 64).
    #[arg(long, default_value_t = 32, value_parser = ranges::batch_size())]
    batch_size: usize,
    /// Images held out for validation (the book: 1000 of 7,390).
    #[arg(long, default_value_t = 300, value_parser = ranges::count(1, 1_000_000))]
    held_out: usize,
    /// Scenes to build when no --data is given.
    #[arg(long, default_value_t = 1500, value_parser = ranges::count(2, 1_000_000))]
    scenes: usize,
    /// RMSprop learning rate (Keras' default, as in the book).
    #[arg(long, allow_hyphen_values = true, default_value_t = 1e-3, value_parser = ranges::learning_rate())]
    lr: f64,
    /// Held-out images whose predicted masks are written.
    #[arg(long, default_value_t = 16, value_parser = ranges::count(0, 10_000))]
    write_masks: usize,
    #[command(flatten)]
    rt: RuntimeArgs,
}

fn default_data(args: &SegmentArgs) -> anyhow::Result<PathBuf> {
    let dir = args
        .rt
        .data_dir
        .join(format!("digit-scenes-segmentation-bold-{}", args.size));
    let backgrounds_dir = args.rt.data_dir.join("backgrounds");
    println!(
        "No --data given: the Oxford-IIIT Pet dataset is not available offline, so this run \
         builds a segmentation set from real data: {} MNIST digits, thickened, tinted, scaled and placed \
         at random over crops of scikit-image's sample photos ({}), {}x{}, with trimaps \
         (1 digit, 2 background, 3 border) in the Oxford layout in {}.",
        args.scenes,
        backgrounds_dir.display(),
        args.size,
        args.size,
        dir.display()
    );
    let mnist = Mnist::load(&args.rt.data_dir.join("mnist"))?;
    let backgrounds = Backgrounds::load(&backgrounds_dir)?;
    export_oxford_layout(
        &mnist,
        args.scenes,
        args.size as u32,
        &backgrounds,
        &SceneStyle::SEGMENTATION,
        &dir,
    )?;
    Ok(dir)
}

/// Writes, for each of the first `n` held-out images, the photo, its true mask and the
/// predicted mask as PNG files side by side in `dir`, plus an overview grid.
fn write_masks(
    dir: &Path,
    names: &[String],
    x: &Tensor,
    y: &Tensor,
    pred: &Tensor,
    n: usize,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut tiles = Vec::new();
    let mut captions = Vec::new();
    for (i, name) in names.iter().enumerate().take(n) {
        let img = convkit_tensor::image_convert::chw_to_image(
            &x.f_get(i as i64)?.f_to_kind(Kind::Float)?,
        )?
        .to_rgb8();
        let truth = convkit_viz::masks::colour_mask(&y.f_get(i as i64)?)?;
        let predicted = convkit_viz::masks::colour_mask(&pred.f_get(i as i64)?)?;
        convkit_viz::save_png(&img, &dir.join(format!("{name}.png")))?;
        convkit_viz::save_png(&predicted, &dir.join(format!("{name}_mask.png")))?;
        convkit_viz::save_png(&truth, &dir.join(format!("{name}_true.png")))?;
        for (t, c) in [(img, "image"), (truth, "true"), (predicted, "output")] {
            tiles.push(t);
            captions.push(c.to_string());
        }
    }
    if !tiles.is_empty() {
        let grid = convkit_viz::image_grid(&tiles, 6, 4, &captions)?;
        convkit_viz::save_png(&grid, &dir.join("overview.png"))?;
    }
    Ok(())
}

/// Runs the command.
pub fn run(args: SegmentArgs) -> anyhow::Result<()> {
    crate::ranks::Ranks::single_process_only("segment")?;
    let device = args.rt.setup()?;
    let side = args.size.unsigned_abs();
    // Float RGB inputs and int64 class maps of every scene, and their copy on the device.
    ranges::check_memory(
        &format!("--scenes {} at --size {}", args.scenes, args.size),
        &[args.scenes as u64, side, side],
        2 * (3 * 4 + 8),
    )?;
    let _lock = claim_out_dir(&args.out)?;
    let root = match &args.data {
        Some(d) => d.clone(),
        None => default_data(&args)?,
    };
    let pairs = find_pairs(&root)?;
    let (train_idx, val_idx) = holdout_split(pairs.len(), args.held_out, args.rt.seed)
        .with_context(|| {
            format!(
                "--held-out {}: {} holds {} image/mask pairs",
                args.held_out,
                root.display(),
                pairs.len()
            )
        })?;
    println!(
        "{} image/mask pairs in {}: {} for training, {} held out",
        pairs.len(),
        root.display(),
        train_idx.len(),
        val_idx.len()
    );
    let started = Instant::now();
    let pick = |idx: &[usize]| idx.iter().map(|&i| pairs[i].clone()).collect::<Vec<_>>();
    let (train_x, train_y) = load_pairs(&pick(&train_idx), args.size as u32)?;
    let val_pairs = pick(&val_idx);
    let (val_x, val_y) = load_pairs(&val_pairs, args.size as u32)?;
    println!("Loaded in {:.1} s", started.elapsed().as_secs_f64());

    convkit_tensor::seed::set_seed(args.rt.seed);
    let mut model = convkit_layers::applications::segmentation_model(args.size, 3, device)?;
    println!("{}", model.summary());
    model.compile(
        RMSprop::new().learning_rate(args.lr),
        Loss::SparseCategoricalCrossentropy { from_logits: false },
        &[Metric::Accuracy, Metric::MeanIoU(3)],
    )?;
    let best = args.out.join("best_model");
    let float = |t: &Tensor| t.f_to_kind(Kind::Float);
    let val_source = TensorBatches::new(
        float(&val_x)?,
        val_y.shallow_clone(),
        args.batch_size,
        false,
    )?;
    let options = FitOptions::new()
        .epochs(args.epochs)
        .validation_source(val_source)
        .callback(
            ModelCheckpoint::new(best.to_string_lossy().into_owned())
                .monitor("val_loss")
                .save_best_only(true),
        )
        .callback(
            BackupAndRestore::new(args.out.join("backup"))
                .setting("size", args.size)
                .setting("batch_size", args.batch_size)
                .setting("scenes", args.scenes)
                .setting("held_out", args.held_out),
        )
        .callback(TerminateOnNaN::new());
    let mut train = TensorBatches::new(float(&train_x)?, train_y, args.batch_size, true)?;
    let fit_started = Instant::now();
    let history = model.fit_source(&mut train, options)?;
    let fit_secs = fit_started.elapsed().as_secs_f64();
    history.save(&args.out.join("history.json"))?;
    convkit_viz::save_training_curves(&history.history, &args.out.join("curves.png"))?;

    let model = load_model(&best, device)
        .with_context(|| format!("loading the best model from {}", best.display()))?;
    let probs = model.predict(&float(&val_x)?, args.batch_size)?;
    let pred = probs.f_argmax(1, false)?;
    let iou_metric = Metric::MeanIoU(3);
    let confusion = iou_metric.confusion(&val_y, &probs)?;
    let mean_iou = Metric::mean_iou(&confusion)?;
    let accuracy = f64::try_from(
        pred.f_eq_tensor(&val_y)?
            .f_to_kind(Kind::Double)?
            .f_mean(Kind::Double)?,
    )?;
    println!(
        "Held-out ({} images): mean IoU {mean_iou:.4}, pixel accuracy {accuracy:.4} (training {fit_secs:.0} s)",
        val_idx.len()
    );
    let names: Vec<String> = val_pairs
        .iter()
        .map(|p| {
            p.image
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    let masks_dir = args.out.join("masks");
    write_masks(&masks_dir, &names, &val_x, &val_y, &pred, args.write_masks)?;
    println!(
        "Wrote predicted masks of {} held-out images (<id>.png, <id>_mask.png, <id>_true.png, overview.png) in {}",
        args.write_masks.min(names.len()),
        masks_dir.display()
    );
    write_json(
        &args.out.join("metrics.json"),
        &json!({"mean_iou": mean_iou, "pixel_accuracy": accuracy, "held_out": val_idx.len(),
                "train_seconds": fit_secs, "epochs": history.epoch.len()}),
    )?;
    Ok(())
}
