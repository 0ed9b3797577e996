//! `convkit finetune`: the book's two-step transfer learning. First a frozen pretrained base
//! under data augmentation with a new dense head; then the top block of the base unfrozen and
//! trained together with the head at a low learning rate (RMSprop, 1e-5).

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use convkit_layers::applications::{book_augmentation, Pooling};
use convkit_layers::prelude::*;
use serde_json::json;

use super::transfer_common::{Transfer, TransferArgs};
use crate::ranges;
use crate::runtime::{claim_out_dir, write_json};

/// Arguments of `convkit finetune`.
#[derive(Args, Debug)]
pub struct FinetuneArgs {
    #[command(flatten)]
    t: TransferArgs,
    /// Output directory (data split, checkpoints, histories, curves, metrics).
    #[arg(long, default_value = "runs/finetune")]
    out: PathBuf,
    /// Epochs with the base frozen (the book's 50).
    #[arg(long, default_value_t = 5, value_parser = ranges::epochs_or_none())]
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

fn build_model(t: &Transfer, args: &FinetuneArgs) -> anyhow::Result<Functional> {
    let size = args.t.size;
    let mut base = t.base.build(false, size, t.pooling, t.device)?;
    t.base.load_weights(&mut base, &t.weights)?;
    base.set_trainable(false);
    let mut g = Graph::new().on_device(t.device);
    let inputs = g.input([3, size, size]);
    let mut x = g.apply(book_augmentation([3, size, size], t.device)?, inputs)?;
    x = g.apply(base, x)?;
    if t.pooling == Pooling::None {
        x = g.apply(Flatten::new(), x)?;
    }
    x = g.apply(Dense::new(256).activation(Activation::Relu), x)?;
    x = g.apply(Dropout::new(0.5), x)?;
    let out = g.apply(Dense::new(1).activation(Activation::Sigmoid), x)?;
    Ok(g.model("finetune", &[inputs], &[out])?)
}

/// Unfreezes the base from `from` on, keeping BatchNormalization frozen (in inference mode,
/// as Keras recommends when fine-tuning).
fn unfreeze_top(model: &mut Functional, base_name: &str, from: &str) -> anyhow::Result<usize> {
    let base = model
        .get_layer_mut(base_name)?
        .as_model_mut()
        .ok_or_else(|| anyhow::anyhow!("layer '{base_name}' is not a model"))?;
    base.set_trainable_from(from)?;
    let mut unfrozen = 0;
    for l in base.layers_mut() {
        if l.class_name() == "BatchNormalization" {
            l.set_trainable(false);
        } else if l.trainable() {
            unfrozen += 1;
        }
    }
    model.get_layer_mut(base_name)?.common_mut().trainable = true;
    Ok(unfrozen)
}

/// Runs the command.
pub fn run(args: FinetuneArgs) -> anyhow::Result<()> {
    let _lock = claim_out_dir(&args.out)?;
    let t = args.t.resolve(&args.out)?;
    convkit_tensor::seed::set_seed(args.t.rt.seed);
    let mut model = build_model(&t, &args)?;
    let base_name = model.layers()[2].name().to_string();
    println!("{}", model.summary());

    let threads = args.t.loader_threads;
    let seed = args.t.rt.seed;
    let folder = |split: &str, shuffle: bool| {
        t.folder(split, args.t.size, args.batch_size, shuffle, threads, seed)
    };
    let started = Instant::now();
    let mut histories = Vec::new();
    for (phase, epochs) in [("frozen", args.epochs), ("finetuned", args.finetune_epochs)] {
        if phase == "finetuned" {
            let from = args
                .unfreeze_from
                .clone()
                .unwrap_or_else(|| t.base.top_block().to_string());
            let n = unfreeze_top(&mut model, &base_name, &from)?;
            println!(
                "\nUnfroze {n} layers of {base_name} from '{from}' on (BatchNormalization stays frozen); recompiling with RMSprop lr {}",
                args.finetune_lr
            );
            println!("{}", model.summary());
        }
        let lr = if phase == "frozen" {
            1e-3
        } else {
            args.finetune_lr
        };
        model.compile(
            RMSprop::new().learning_rate(lr),
            Loss::BinaryCrossentropy { from_logits: false },
            &[Metric::Accuracy],
        )?;
        let best = args.out.join(format!("{phase}_best"));
        // The second phase continues the epoch count (as Keras' `initial_epoch`), so its
        // shuffling, augmentation and dropout draw new randomness instead of replaying the
        // first phase's epochs.
        let first = if phase == "frozen" { 0 } else { args.epochs };
        let options = FitOptions::new()
            .initial_epoch(first)
            .epochs(first + epochs)
            .validation_source(t.preprocessed(folder("validation", false)?))
            .callback(
                ModelCheckpoint::new(best.to_string_lossy().into_owned())
                    .monitor("val_loss")
                    .save_best_only(true),
            )
            .callback(TerminateOnNaN::new());
        println!("\n=== {phase}: {epochs} epochs ===");
        let mut train = t.preprocessed(folder("train", true)?);
        let history = model.fit_source(&mut train, options)?;
        history.save(&args.out.join(format!("{phase}_history.json")))?;
        convkit_viz::save_training_curves(
            &history.history,
            &args.out.join(format!("{phase}_curves.png")),
        )?;
        if best.join("model.json").is_file() {
            load_weights(&mut model, &best.join("model.safetensors"))?;
        }
        let logs = model.evaluate_source(&mut t.preprocessed(folder("test", false)?))?;
        let acc = logs.get("accuracy").unwrap_or(f64::NAN);
        let loss = logs.get("loss").unwrap_or(f64::NAN);
        println!("{phase}: test loss {loss:.4} - test accuracy {acc:.4} (best epoch by val_loss)");
        histories.push(json!({"phase": phase, "test_loss": loss, "test_accuracy": acc}));
    }
    let secs = started.elapsed().as_secs_f64();
    println!("Fine-tuning ({}) took {secs:.0} s", t.base.name());
    write_json(
        &args.out.join("metrics.json"),
        &json!({"base": t.base.name(), "phases": histories, "seconds": secs}),
    )?;
    Ok(())
}
