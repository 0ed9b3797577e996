//! `convkit features`: the book's fast feature extraction, as a preset of `convkit train`
//! (`--mode features`): run the pretrained convolutional base once over the train/validation/
//! test images, cache its features on disk, and train the book's dense classifier on them.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use serde_json::json;

use super::train::train_locked;
use super::transfer_common::TransferArgs;
use crate::ranges;
use crate::runtime::write_json;

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

/// Runs the command.
pub fn run(args: FeaturesArgs) -> anyhow::Result<()> {
    // Under torchrun every rank trains; rank 0 alone owns --out.
    let ranks = crate::ranks::Ranks::from_env()?;
    let _lock = ranks.claim_out_dir(&args.out)?;
    let mut t = args.t.train_args(&args.out, "features")?;
    t.epochs = Some(args.epochs);
    t.batch_size = args.batch_size;
    t.extract_batch_size = args.extract_batch_size;
    let started = Instant::now();
    let outcome = train_locked(&t)?;
    if !ranks.is_main() {
        return Ok(());
    }
    let test = outcome
        .test
        .ok_or_else(|| anyhow::anyhow!("the cats-vs-dogs folders have no test/ images"))?;
    println!(
        "Feature extraction ({}): test loss {:.4} - test accuracy {:.4} ({:.1} s)",
        args.t.base,
        test.loss,
        test.accuracy,
        started.elapsed().as_secs_f64()
    );
    write_json(
        &args.out.join("metrics.json"),
        &json!({
            "base": args.t.base, "pooling": args.t.pooling,
            "test_loss": test.loss, "test_accuracy": test.accuracy,
            "test_images": test.report.macro_avg.support,
            "seconds": started.elapsed().as_secs_f64(),
        }),
    )?;
    Ok(())
}
