//! `convkit catdog`: the book's small-dataset experiment ("Training a convnet from scratch on
//! a small dataset"): split the data, train the 4-block convnet without augmentation (it
//! overfits), then with data augmentation and Dropout(0.5) (it does not), and compare.
//!
//! With `--data DIR` it takes a real Kaggle dogs-vs-cats folder (flat `cat.N.jpg`,
//! `dog.N.jpg`, or already split into `train/ validation/ test/`). Without it, it builds a
//! two-class stand-in from real data available offline: MNIST digits 4 and 9 composited over
//! crops of real photos ([`convkit_data::digit_scenes`]), exported as PNG files in the same
//! flat layout.

use std::path::{Path, PathBuf};

use super::catdog_data::{per_class_counts, prepare_split, StandIn};
use super::train::{train, TrainArgs};
use clap::Args;
use convkit_layers::prelude::*;
use serde_json::json;

use crate::ranges;
use crate::runtime::{claim_out_dir, write_json, RuntimeArgs};

/// Arguments of `convkit catdog`.
#[derive(Args, Debug)]
pub struct CatdogArgs {
    /// A Kaggle dogs-vs-cats folder (flat cat.N.jpg / dog.N.jpg, or train/ validation/ test/).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Output directory (data split, one folder per run, summary.json).
    #[arg(long, default_value = "runs/catdog")]
    out: PathBuf,
    /// The book's settings: 150x150 inputs, 30 and 100 epochs, 1000/500/500 images per class.
    #[arg(long)]
    book: bool,
    /// Input side (book: 150; CPU default: 64).
    #[arg(long, value_parser = ranges::input_side(38))]
    size: Option<i64>,
    /// Epochs without augmentation (the book's 30).
    #[arg(long, value_parser = ranges::epochs_or_none())]
    epochs: Option<usize>,
    /// Epochs with augmentation and dropout (the book's 100).
    #[arg(long, value_parser = ranges::epochs_or_none())]
    aug_epochs: Option<usize>,
    /// Images per class for train,validation,test (book: 1000,500,500; offline default
    /// 150,300,500).
    #[arg(long, value_delimiter = ',', value_parser = ranges::count(1, 1_000_000))]
    per_class: Option<Vec<usize>>,
    /// Batch size of the run without augmentation (book: 20).
    #[arg(long, default_value_t = 20, value_parser = ranges::batch_size())]
    batch_size: usize,
    /// Batch size of the run with augmentation (book: 32).
    #[arg(long, default_value_t = 32, value_parser = ranges::batch_size())]
    aug_batch_size: usize,
    /// Augmented passes over the training images per epoch (the book's 100 steps of 32 draw
    /// 3,200 augmented images per epoch from 2,000).
    #[arg(long, default_value_t = 2, value_parser = ranges::count(1, 1_000))]
    aug_repeat: usize,
    /// RMSprop learning rate of both runs: the book's second edition compiles with
    /// `optimizer="rmsprop"` (Keras' default 1e-3); its first edition's 1e-4 is too slow for
    /// the CPU's 64x64 convnet to memorise its training set within 30 epochs.
    #[arg(long, default_value_t = 1e-3, value_parser = ranges::learning_rate())]
    lr: f64,
    /// Image-loading threads.
    #[arg(long, default_value_t = 2, value_parser = ranges::loader_threads())]
    loader_threads: usize,
    #[command(flatten)]
    rt: RuntimeArgs,
}

/// Settings resolved from the flags, the device and the data source.
struct Plan {
    size: i64,
    epochs: usize,
    aug_epochs: usize,
    per_class: [usize; 3],
}

fn plan(args: &CatdogArgs, cuda: bool) -> anyhow::Result<Plan> {
    let full = args.book || cuda;
    // The book's 1000/500/500 per class, offline too: the small-digit stand-in needs the
    // book's 100 steps per epoch to memorise its training set within 30 epochs.
    let per_class = per_class_counts(args.per_class.as_deref(), true)?;
    let plan = Plan {
        size: args.size.unwrap_or(if full { 150 } else { 64 }),
        epochs: args.epochs.unwrap_or(30),
        aug_epochs: args.aug_epochs.unwrap_or(100),
        per_class,
    };
    anyhow::ensure!(
        plan.size >= 46,
        "--size must be at least 46 for four conv/pool blocks"
    );
    if !full && args.size.is_none() {
        println!(
            "Running on the CPU: {}x{} inputs instead of the book's 150x150 to keep the two runs \
             within minutes (--book or --size 150 restores it).",
            plan.size, plan.size
        );
    }
    Ok(plan)
}

/// Where the train/ validation/ test/ folders are, building them when needed.
fn prepare_data(args: &CatdogArgs, plan: &Plan) -> anyhow::Result<PathBuf> {
    prepare_split(
        args.data.as_deref(),
        &args.out.join("data"),
        plan.per_class,
        &args.rt.data_dir,
        StandIn::LowHigh,
    )
}

struct RunResult {
    name: &'static str,
    history: History,
    test_loss: f64,
    test_accuracy: f64,
}

/// One of the two runs, as a `train` run: the small convnet from scratch on the split
/// folders, without augmentation or with the book's ImageDataGenerator and Dropout(0.5);
/// skipped (`None`) at 0 epochs.
fn train_run(
    args: &CatdogArgs,
    plan: &Plan,
    data: &Path,
    name: &'static str,
    epochs: usize,
    augmented: bool,
) -> anyhow::Result<Option<RunResult>> {
    if epochs == 0 {
        println!("\n=== {name}: 0 epochs, skipped ===");
        return Ok(None);
    }
    println!("\n=== {name} ===");
    let mut t = TrainArgs::defaults(&args.out.join(name));
    t.dir = Some(data.to_path_buf());
    t.model = "small-convnet".into();
    t.size = Some(plan.size);
    // flow_from_directory, as the book: nearest resize, decoded images kept in memory.
    t.interpolation = "nearest".into();
    t.cache = "memory".into();
    t.loader_threads = args.loader_threads;
    t.lr = Some(args.lr);
    t.rt = args.rt.clone();
    if augmented {
        t.augment = "book".into();
        t.epochs = Some(epochs);
        t.batch_size = args.aug_batch_size;
        t.repeat = args.aug_repeat;
    } else {
        t.epochs = Some(epochs);
        t.batch_size = args.batch_size;
    }
    let outcome = train(&t)?;
    let test = outcome
        .test
        .ok_or_else(|| anyhow::anyhow!("{}: no test/ images", data.display()))?;
    println!(
        "{name}: test loss {:.4} - test accuracy {:.4}",
        test.loss, test.accuracy
    );
    Ok(Some(RunResult {
        name,
        history: outcome.history,
        test_loss: test.loss,
        test_accuracy: test.accuracy,
    }))
}

fn last(h: &History, key: &str) -> f64 {
    h.history
        .get(key)
        .and_then(|v| v.last().copied())
        .unwrap_or(f64::NAN)
}

/// Epoch (1-based) of the lowest validation loss.
fn best_val_loss_epoch(h: &History) -> Option<(usize, f64)> {
    let v = h.history.get("val_loss")?;
    v.iter()
        .enumerate()
        .filter(|(_, x)| x.is_finite())
        .min_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, &x)| (i + 1, x))
}

/// Runs the experiment.
pub fn run(args: CatdogArgs) -> anyhow::Result<()> {
    crate::ranks::Ranks::single_process_only("catdog")?;
    let device = args.rt.setup()?;
    let _lock = claim_out_dir(&args.out)?;
    let plan = plan(&args, device.is_cuda())?;
    let data = prepare_data(&args, &plan)?;
    let plain = train_run(&args, &plan, &data, "no_augmentation", plan.epochs, false)?;
    let augmented = train_run(
        &args,
        &plan,
        &data,
        "augmentation_dropout",
        plan.aug_epochs,
        true,
    )?;

    println!("\n=== The lesson ===");
    let mut summary = serde_json::Map::new();
    for r in [&plain, &augmented].into_iter().flatten() {
        let (best_epoch, best) = best_val_loss_epoch(&r.history).unwrap_or((0, f64::NAN));
        let epochs = r.history.epoch.len();
        println!(
            "{:<22} final: loss {:.4}, val_loss {:.4}, val_accuracy {:.4}; lowest val_loss {:.4} \
             at epoch {best_epoch}/{epochs}; test accuracy {:.4}",
            r.name,
            last(&r.history, "loss"),
            last(&r.history, "val_loss"),
            last(&r.history, "val_accuracy"),
            best,
            r.test_accuracy,
        );
        summary.insert(
            r.name.into(),
            json!({
                "final_loss": last(&r.history, "loss"),
                "final_val_loss": last(&r.history, "val_loss"),
                "final_val_accuracy": last(&r.history, "val_accuracy"),
                "best_val_loss": best, "best_val_loss_epoch": best_epoch, "epochs": epochs,
                "test_loss": r.test_loss, "test_accuracy": r.test_accuracy,
            }),
        );
    }
    if let Some(plain) = &plain {
        let (best_epoch, _) = best_val_loss_epoch(&plain.history).unwrap_or((0, f64::NAN));
        if best_epoch > 0 && best_epoch < plain.history.epoch.len() {
            println!(
                "Without augmentation the validation loss bottoms out at epoch {best_epoch} and \
                 turns up while the training loss keeps falling: overfitting."
            );
        }
    }
    if let (Some(plain), Some(augmented)) = (&plain, &augmented) {
        let gain = last(&augmented.history, "val_accuracy") - last(&plain.history, "val_accuracy");
        println!(
            "Augmentation and dropout change the final validation accuracy by {:+.2} points.",
            gain * 100.0
        );
    }
    write_json(
        &args.out.join("summary.json"),
        &serde_json::Value::Object(summary),
    )?;
    Ok(())
}
