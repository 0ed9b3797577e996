//! `convkit finetune`: the book's two-step transfer learning, as a preset of `convkit train`
//! (`--mode finetune --augment book`): a frozen pretrained base under data augmentation with
//! a new dense head; then the top block of the base unfrozen and trained together with the
//! head at a low learning rate (RMSprop, 1e-5).

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use serde_json::json;

use super::train::train_locked;
use super::transfer_common::TransferArgs;
use crate::ranges;
use crate::runtime::write_json;

/// Arguments of `convkit finetune`.
#[derive(Args, Debug)]
pub struct FinetuneArgs {
    #[command(flatten)]
    t: TransferArgs,
    /// Output directory (data split, checkpoints, histories, curves, metrics).
    #[arg(long, default_value = "runs/finetune")]
    out: PathBuf,
    /// Epochs with the base frozen (the book's 50).
    #[arg(long, default_value_t = 5, value_parser = ranges::epochs())]
    epochs: usize,
    /// Epochs after unfreezing the top block (the book's 30).
    #[arg(long, default_value_t = 10, value_parser = ranges::epochs_or_none())]
    finetune_epochs: usize,
    /// Learning rate of the fine-tuning step (the book's 1e-5).
    #[arg(long, allow_hyphen_values = true, default_value_t = 1e-5, value_parser = ranges::learning_rate())]
    finetune_lr: f64,
    /// Batch size.
    #[arg(long, default_value_t = 32, value_parser = ranges::batch_size())]
    batch_size: usize,
    /// Layer of the base from which to unfreeze (default: the base's top block).
    #[arg(long)]
    unfreeze_from: Option<String>,
}

/// Runs the command.
pub fn run(args: FinetuneArgs) -> anyhow::Result<()> {
    // Under torchrun every rank trains; rank 0 alone owns --out.
    let ranks = crate::ranks::Ranks::from_env()?;
    let _lock = ranks.claim_out_dir(&args.out)?;
    let mut t = args.t.train_args(&args.out, "finetune")?;
    t.augment = "book".into();
    t.epochs = Some(args.epochs);
    t.finetune_epochs = args.finetune_epochs;
    t.finetune_lr = args.finetune_lr;
    t.batch_size = args.batch_size;
    t.unfreeze_from = args.unfreeze_from.clone();
    let started = Instant::now();
    let outcome = train_locked(&t)?;
    if !ranks.is_main() {
        return Ok(());
    }
    let phase = |name: &str, r: &Option<super::train::TestResult>| {
        r.as_ref()
            .map(|r| json!({"phase": name, "test_loss": r.loss, "test_accuracy": r.accuracy}))
    };
    let phases: Vec<serde_json::Value> = [
        phase("frozen", &outcome.frozen_test),
        phase("finetuned", &outcome.test),
    ]
    .into_iter()
    .flatten()
    .collect();
    let secs = started.elapsed().as_secs_f64();
    println!("Fine-tuning ({}) took {secs:.0} s", args.t.base);
    write_json(
        &args.out.join("metrics.json"),
        &json!({"base": args.t.base, "phases": phases, "seconds": secs}),
    )?;
    Ok(())
}
