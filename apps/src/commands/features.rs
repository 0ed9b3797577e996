//! `convkit features`: the book's fast feature extraction. Run the pretrained convolutional
//! base once over the train/validation/test images, cache its features on disk, and train a
//! small dense classifier on them.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use convkit_data::feature_cache::{CacheKey, FeatureCache};
use convkit_layers::applications::Pooling;
use convkit_layers::prelude::*;
use convkit_layers::saving::fingerprint::model_fingerprint;
use serde_json::json;

use super::transfer_common::{Transfer, TransferArgs};
use crate::ranges;
use crate::runtime::{claim_out_dir, write_json};

/// Arguments of `convkit features`.
#[derive(Args, Debug)]
pub struct FeaturesArgs {
    #[command(flatten)]
    t: TransferArgs,
    /// Output directory (data split, feature cache, model, history, curves, metrics).
    #[arg(long, default_value = "runs/features")]
    out: PathBuf,
    /// Epochs of the dense classifier (the book's 20).
    #[arg(long, default_value_t = 20, value_parser = ranges::epochs())]
    epochs: usize,
    /// Batch size of the classifier.
    #[arg(long, default_value_t = 32, value_parser = ranges::batch_size())]
    batch_size: usize,
    /// Batch size of the extraction pass (16 is faster than 32 on a 2-core CPU).
    #[arg(long, default_value_t = 16, value_parser = ranges::batch_size())]
    extract_batch_size: usize,
}

/// Features of one split, from the cache or computed now.
fn cached_features(
    t: &Transfer,
    base: &dyn Model,
    base_key: &str,
    args: &FeaturesArgs,
    split: &str,
) -> anyhow::Result<FeatureCache> {
    let folder = t.folder(
        split,
        args.t.size,
        args.extract_batch_size,
        false,
        args.t.loader_threads,
        args.t.rt.seed,
    )?;
    let n = folder.samples().len();
    let key = CacheKey {
        model: base_key.to_string(),
        data: format!(
            "{}-{}",
            folder.fingerprint(),
            t.weights
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default()
        ),
    };
    let dir = args.out.join("cache").join(split);
    if let Some(c) = FeatureCache::open(&dir, &key)? {
        println!(
            "{split}: reusing {} cached features in {}",
            c.manifest().num_samples,
            dir.display()
        );
        return Ok(c);
    }
    let mut source = t.preprocessed(folder);
    let started = Instant::now();
    let mut extract = |x: &convkit_tensor::Tensor| -> convkit_data::Result<convkit_tensor::Tensor> {
        base.forward(x, false)
            .map_err(|e| convkit_data::Error::Tensor(convkit_tensor::Error::other(e)))
    };
    let cache = FeatureCache::build(&dir, key, &mut source, &mut extract, 512)?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{split}: extracted features {:?} of {n} images in {secs:.1} s ({:.1} images/s), cached in {}",
        cache.manifest().feature_shape,
        n as f64 / secs,
        dir.display()
    );
    Ok(cache)
}

/// Runs the command.
pub fn run(args: FeaturesArgs) -> anyhow::Result<()> {
    let _lock = claim_out_dir(&args.out)?;
    let t = args.t.resolve(&args.out)?;
    let mut base = t.base.build(false, args.t.size, t.pooling, t.device)?;
    t.base.load_weights(&mut base, &t.weights)?;
    base.set_trainable(false);
    println!(
        "Convolutional base: {} ({} parameters), output {:?}",
        t.base.name(),
        base.count_params(),
        base.output_shape().unwrap_or_default()
    );
    let base_key = model_fingerprint(&base)?;
    let started = Instant::now();
    let train = cached_features(&t, &base, &base_key, &args, "train")?;
    let val = cached_features(&t, &base, &base_key, &args, "validation")?;
    let test = cached_features(&t, &base, &base_key, &args, "test")?;
    let extraction_secs = started.elapsed().as_secs_f64();

    // The book's densely connected classifier on the features.
    convkit_tensor::seed::set_seed(args.t.rt.seed);
    let feature_shape = train.manifest().feature_shape.clone();
    let mut head = Sequential::new()
        .named("classifier")
        .on_device(t.device)
        .with_input_shape(feature_shape.clone());
    if feature_shape.len() > 1 {
        head.add(Flatten::new())?;
    }
    head.add(Dense::new(256).activation(Activation::Relu))?;
    head.add(Dropout::new(0.5))?;
    head.add(Dense::new(1).activation(Activation::Sigmoid))?;
    println!("{}", head.summary());
    head.compile(
        RMSprop::new(),
        Loss::BinaryCrossentropy { from_logits: false },
        &[Metric::Accuracy],
    )?;
    let best_dir = args.out.join("best_model");
    let options = FitOptions::new()
        .epochs(args.epochs)
        .validation_source(val.batches(args.batch_size, false, 0))
        .callback(
            ModelCheckpoint::new(best_dir.to_string_lossy().into_owned())
                .monitor("val_loss")
                .save_best_only(true),
        );
    let fit_started = Instant::now();
    let mut train_batches = train.batches(args.batch_size, true, args.t.rt.seed);
    let history = head.fit_source(&mut train_batches, options)?;
    let fit_secs = fit_started.elapsed().as_secs_f64();
    let best = load_model(&best_dir, t.device)
        .with_context(|| format!("loading the best model from {}", best_dir.display()))?;
    let logs = best.evaluate_source(&mut test.batches(64, false, 0))?;
    let test_loss = logs.get("loss").unwrap_or(f64::NAN);
    let test_accuracy = logs.get("accuracy").unwrap_or(f64::NAN);
    println!(
        "Feature extraction ({}): test loss {test_loss:.4} - test accuracy {test_accuracy:.4} \
         (extraction {extraction_secs:.1} s, classifier {fit_secs:.1} s)",
        t.base.name()
    );
    history.save(&args.out.join("history.json"))?;
    convkit_viz::save_training_curves(&history.history, &args.out.join("curves.png"))?;
    write_json(
        &args.out.join("metrics.json"),
        &json!({
            "base": t.base.name(), "test_loss": test_loss, "test_accuracy": test_accuracy,
            "extraction_seconds": extraction_secs, "classifier_seconds": fit_secs,
            "pooling": match t.pooling { Pooling::Avg => "avg", Pooling::Max => "max", Pooling::None => "flatten" },
        }),
    )?;
    println!(
        "Saved best_model/, history.json, curves.png and metrics.json in {}",
        args.out.display()
    );
    Ok(())
}
