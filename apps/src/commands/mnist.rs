//! `convkit mnist`: the book's first convnet (chapter "Introduction to convnets").
//!
//! Conv2D(32, 3, relu) - MaxPooling2D(2) - Conv2D(64, 3, relu) - MaxPooling2D(2) -
//! Conv2D(64, 3, relu) - Flatten - Dense(64, relu) - Dense(10, softmax); RMSprop,
//! categorical crossentropy, batch 64, 5 epochs. Training backs up after every epoch into
//! `OUT/backup`, so a killed run started again with the same `--out` resumes.

use std::path::PathBuf;

use clap::Args;
use convkit_data::mnist::scale_images;
use convkit_data::{to_categorical, Mnist};
use convkit_layers::prelude::*;
use convkit_tensor::tch::Tensor;
use convkit_tensor::{Batch, MapBatches, TensorBatches};
use serde_json::json;

use crate::ranges;
use crate::ranks::Ranks;
use crate::runtime::{write_json, RuntimeArgs};

/// Arguments of `convkit mnist`.
#[derive(Args, Debug)]
pub struct MnistArgs {
    /// Training epochs (1 to 100,000).
    #[arg(long, default_value_t = 5, value_parser = ranges::epochs())]
    epochs: usize,
    /// Batch size (1 to 60,000).
    #[arg(long, default_value_t = 64, value_parser = ranges::count(1, 60_000))]
    batch_size: usize,
    /// Optimizer: sgd, rmsprop, adam, adamw (Keras defaults).
    #[arg(long, default_value = "rmsprop")]
    optimizer: String,
    /// Learning rate (default: the optimizer's Keras default).
    #[arg(long, allow_hyphen_values = true, value_parser = ranges::learning_rate())]
    lr: Option<f64>,
    /// Fraction of the training set held out for validation (the last samples, as Keras).
    #[arg(long, allow_hyphen_values = true, default_value_t = 0.0, value_parser = ranges::fraction())]
    validation_split: f64,
    /// Keep the training order fixed instead of shuffling every epoch (Keras' shuffle=False).
    #[arg(long)]
    no_shuffle: bool,
    /// Use only the first N training images (quick runs; 1 to 60,000).
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..=60_000))]
    train_limit: Option<i64>,
    /// Use only the first N test images (1 to 10,000).
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..=10_000))]
    test_limit: Option<i64>,
    /// Output directory: model/ (model.json, model.safetensors, optimizer.safetensors),
    /// history.json, metrics.json, curves.png, confusion.png, backup/ while training.
    #[arg(long, default_value = "runs/mnist")]
    out: PathBuf,
    #[command(flatten)]
    rt: RuntimeArgs,
}

/// Batches of u8 images and integer labels, scaled to `[0, 1]` and one-hot encoded per batch.
fn mnist_batches(
    images: Tensor,
    labels: Tensor,
    batch_size: usize,
    shuffle: bool,
) -> anyhow::Result<impl convkit_tensor::BatchSource> {
    let src = TensorBatches::new(images, labels, batch_size, shuffle)?;
    Ok(MapBatches::new(src, |b: Batch| {
        let targets = to_categorical(&b.targets, 10).map_err(convkit_tensor::Error::other)?;
        let inputs = scale_images(&b.inputs).map_err(convkit_tensor::Error::other)?;
        Ok(Batch::new(inputs, targets))
    }))
}

fn limit(t: Tensor, n: Option<i64>) -> anyhow::Result<Tensor> {
    Ok(match n {
        Some(n) if n < t.size()[0] => t.f_narrow(0, 0, n.max(1))?,
        _ => t,
    })
}

/// Trains, evaluates and saves.
///
/// Under `torchrun` every rank runs this: training data-parallel (`--batch-size` per rank),
/// the test set evaluated in shares, and rank 0 alone printing and writing `--out`.
pub fn run(args: MnistArgs) -> anyhow::Result<()> {
    let device = args.rt.setup()?;
    let ranks = Ranks::from_env()?;
    let _lock = ranks.claim_out_dir(&args.out)?;
    let data = Mnist::load(&args.rt.data_dir.join("mnist"))?;
    let train_x = limit(data.train_images, args.train_limit)?.f_to_device(device)?;
    let train_y = limit(data.train_labels, args.train_limit)?.f_to_device(device)?;
    let test_x = limit(data.test_images, args.test_limit)?.f_to_device(device)?;
    let test_y = limit(data.test_labels, args.test_limit)?.f_to_device(device)?;

    let mut model = convkit_layers::applications::mnist_convnet(device)?;
    if ranks.is_main() {
        println!("{}", model.summary());
        if let Some(line) = ranks.global_batch(args.batch_size) {
            println!("{line}");
        }
    }
    let optimizer = convkit_optim::from_name(&args.optimizer, args.lr)?;
    model.compile(
        optimizer,
        Loss::CategoricalCrossentropy { from_logits: false },
        &[Metric::Accuracy],
    )?;

    let n = train_x.size()[0];
    let n_val = (n as f64 * args.validation_split).floor() as i64;
    let mut train = mnist_batches(
        train_x.f_narrow(0, 0, n - n_val)?,
        train_y.f_narrow(0, 0, n - n_val)?,
        args.batch_size,
        !args.no_shuffle,
    )?;
    let backup_dir = args.out.join("backup");
    let mut options = FitOptions::new()
        .epochs(args.epochs)
        .callback(
            BackupAndRestore::new(&backup_dir)
                .setting("batch_size", args.batch_size)
                .setting("train_limit", args.train_limit)
                .setting("validation_split", args.validation_split)
                .setting("shuffle", !args.no_shuffle),
        )
        .callback(TerminateOnNaN::new())
        .save_model_to(args.out.join(RUN_MODEL_DIR));
    options = ranks.fit_options(options);
    if n_val > 0 {
        options = options.validation_source(mnist_batches(
            train_x.f_narrow(0, n - n_val, n_val)?,
            train_y.f_narrow(0, n - n_val, n_val)?,
            args.batch_size,
            false,
        )?);
    }
    let history = model.fit_source(&mut train, options)?;
    let (test_images, test_labels) = (test_x.shallow_clone(), test_y.shallow_clone());
    let mut test = mnist_batches(test_x, test_y, 256, false)?;
    let logs = convkit_layers::training::evaluate_source_on(&model, &mut test, ranks.group())?;
    if !ranks.is_main() {
        return Ok(());
    }
    if let Some(reason) = &history.stop_reason {
        println!("Training stopped early: {reason}");
    }
    let (test_loss, test_accuracy) = (
        logs.get("loss").unwrap_or(f64::NAN),
        logs.get("accuracy").unwrap_or(f64::NAN),
    );
    println!("Test loss: {test_loss:.4} - test accuracy: {test_accuracy:.4}");

    history.save(&args.out.join("history.json"))?;
    convkit_viz::save_training_curves(&history.history, &args.out.join("curves.png"))?;
    let probs = model.predict(&scale_images(&test_images)?, 256)?;
    let predicted: Vec<i64> = Vec::try_from(probs.f_argmax(1, false)?)?;
    let truth: Vec<i64> = Vec::try_from(test_labels.f_to_kind(convkit_tensor::tch::Kind::Int64)?)?;
    let counts = convkit_viz::confusion::confusion_counts(&truth, &predicted, 10)?;
    let labels: Vec<String> = (0..10).map(|d| d.to_string()).collect();
    convkit_viz::confusion::save_confusion_matrix(
        &counts,
        &labels,
        "MNIST test set",
        &args.out.join("confusion.png"),
    )?;
    let secs = &history.epoch_seconds;
    let mean_epoch = if secs.is_empty() {
        f64::NAN
    } else {
        secs.iter().sum::<f64>() / secs.len() as f64
    };
    write_json(
        &args.out.join("metrics.json"),
        &json!({"test_loss": test_loss, "test_accuracy": test_accuracy, "epochs": history.epoch.len(), "mean_epoch_seconds": mean_epoch}),
    )?;
    println!(
        "Saved model.json, model.safetensors, history.json, metrics.json, curves.png and confusion.png in {}",
        args.out.display()
    );
    Ok(())
}
