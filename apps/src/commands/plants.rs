//! `convkit plants [--data DIR]`: the finance chapter's plant-seedlings workflow end to end,
//! as presets of `convkit train`, on Kaggle's layout (`train/<species>/*.png` and an
//! unlabeled `test/`):
//!
//! 1. 12 images per species held out for validation (hard-linked into `OUT/data`, the user's
//!    files never moved; the split is recorded in `OUT/data/split.json`);
//! 2. the logistic baseline (Flatten + Dense);
//! 3. a pretrained base with `Flatten + Dense(species)` under the chapter's imgaug pipeline
//!    (VGG16 with the user's weights; offline, where EfficientNet-Lite0 is the only real
//!    pretrained base, Lite0 — and VGG16 is checked by its parameter counts);
//! 4. the feature-cache variant; 5. the same with the chapter's background removal;
//! 6. the Kaggle submission (`file,species`) of the best of them on `test/`.
//!
//! Without `--data` (no plant data is reachable offline) it builds a stand-in in that
//! layout from the digit scenes and says so; its hidden test labels score the submission.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use convkit::pretrained::{weights_path, Base};
use convkit_data::dataset_split::{split_dataset, SplitLayout, Transfer};
use convkit_data::digit_scenes::{export_scenes_class_folders, Backgrounds};
use convkit_data::Mnist;
use convkit_layers::applications::Pooling;
use convkit_layers::prelude::*;
use serde_json::json;

use super::train::{train, TrainArgs, STAND_IN_CLASSES};
use crate::ranges;
use crate::runtime::{claim_out_dir, write_json, RuntimeArgs};

/// Arguments of `convkit plants`.
#[derive(Args, Debug)]
pub struct PlantsArgs {
    /// Kaggle's plant-seedlings folder: train/<species>/*.png and an unlabeled test/.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Output directory (data split, one folder per run, summary.json, submission.csv).
    #[arg(long, default_value = "runs/plants")]
    out: PathBuf,
    /// VGG16 weights (torchvision's vgg16 .pth or Keras-named safetensors); without them
    /// the pretrained runs use EfficientNet-Lite0.
    #[arg(long)]
    vgg16_weights: Option<PathBuf>,
    /// Validation images held out per species (the chapter's 12).
    #[arg(long, default_value_t = 12, value_parser = ranges::count(1, 10_000))]
    validation_per_class: usize,
    /// Input side (the chapter's 150; the stand-in's default 96).
    #[arg(long, value_parser = ranges::input_side(32))]
    size: Option<i64>,
    /// Epochs of the logistic baseline and the feature heads.
    #[arg(long, default_value_t = 20, value_parser = ranges::epochs())]
    epochs: usize,
    /// Epochs of the frozen base under augmentation.
    #[arg(long, default_value_t = 5, value_parser = ranges::epochs())]
    augmented_epochs: usize,
    /// Images per class of the stand-in (training; 30 more per class form its test/).
    #[arg(long, default_value_t = 120, value_parser = ranges::count(20, 5_000))]
    stand_in_per_class: usize,
    /// Image-loading threads.
    #[arg(long, default_value_t = 2, value_parser = ranges::loader_threads())]
    loader_threads: usize,
    #[command(flatten)]
    rt: RuntimeArgs,
}

/// Test images per class of the stand-in.
const STAND_IN_TEST: usize = 30;

/// One run of the workflow and what it scored on the validation images.
struct Row {
    name: &'static str,
    what: String,
    accuracy: f64,
    loss: f64,
    model: PathBuf,
}

/// Runs the workflow.
pub fn run(args: PlantsArgs) -> anyhow::Result<()> {
    crate::ranks::Ranks::single_process_only("plants")?;
    let device = args.rt.setup()?;
    let _lock = claim_out_dir(&args.out)?;
    let (source, hidden_labels) = match &args.data {
        Some(d) => (d.clone(), None),
        None => {
            let (dir, labels) = build_stand_in(&args)?;
            (dir, Some(labels))
        }
    };
    let size = args
        .size
        .unwrap_or(if args.data.is_some() { 150 } else { 96 });
    let data = args.out.join("data");
    println!(
        "Holding out {} images per species of {} for validation (hard links in {})",
        args.validation_per_class,
        source.join("train").display(),
        data.display()
    );
    let layout = SplitLayout::HoldOut {
        validation: args.validation_per_class,
        seed: Some(args.rt.seed),
    };
    let counts = split_dataset(
        &source.join("train"),
        &data,
        &layout,
        Transfer::HardLink,
        true,
    )
    .with_context(|| format!("splitting {}", source.join("train").display()))?;
    write_json(&data.join("split.json"), &json!(counts))?;
    let classes = counts.get("train").map_or(0, |c| c.len());

    let (base, base_weights) = match &args.vgg16_weights {
        Some(w) => (Base::Vgg16, Some(w.clone())),
        None => {
            println!(
                "No --vgg16-weights: the pretrained runs use EfficientNet-Lite0, the only real \
                 pretrained base offline; VGG16 is checked by its parameter counts."
            );
            vgg16_parameter_check(size, classes as i64)?;
            (Base::EfficientNetLite0, None)
        }
    };
    weights_path(base, base_weights.as_deref(), false)?;
    let run =
        |name: &'static str, what: String, edit: &dyn Fn(&mut TrainArgs)| -> anyhow::Result<Row> {
            println!("\n=== {name}: {what} ===");
            let mut t = TrainArgs::defaults(&args.out.join(name));
            t.dir = Some(data.clone());
            t.size = Some(size);
            t.epochs = Some(args.epochs);
            t.score_validation = true;
            t.loader_threads = args.loader_threads;
            t.rt = args.rt.clone();
            edit(&mut t);
            let outcome = train(&t)?;
            let test = outcome
                .test
                .ok_or_else(|| anyhow::anyhow!("{name}: no validation score"))?;
            Ok(Row {
                name,
                what,
                accuracy: test.accuracy,
                loss: test.loss,
                model: t.out.join(RUN_MODEL_DIR),
            })
        };
    let base_name = base.name().to_string();
    let weights = base_weights.clone();
    let pretrained = |t: &mut TrainArgs| {
        t.model = base_name.clone();
        t.weights = weights.clone();
        t.head = "flatten-dense".into();
    };
    let rows = vec![
        run("logistic", "Flatten + Dense (the baseline)".into(), &|t| {
            t.model = "logistic".into();
        })?,
        run(
            "pretrained_imgaug",
            format!("{} frozen, Flatten + Dense, imgaug", base.name()),
            &|t| {
                pretrained(t);
                t.mode = "frozen".into();
                t.augment = "imgaug".into();
                t.epochs = Some(args.augmented_epochs);
            },
        )?,
        run(
            "pretrained_features",
            format!("{} features cached, Flatten + Dense", base.name()),
            &|t| {
                pretrained(t);
                t.mode = "features".into();
            },
        )?,
        run(
            "background_removal",
            format!("{} features of leaf-masked images", base.name()),
            &|t| {
                pretrained(t);
                t.mode = "features".into();
                t.background_removal = true;
            },
        )?,
    ];
    summarise(&args, &source, &rows, hidden_labels.as_deref(), device)
}

/// Prints the table, writes `summary.json` and the submission of the best run.
fn summarise(
    args: &PlantsArgs,
    source: &Path,
    rows: &[Row],
    hidden_labels: Option<&Path>,
    device: convkit_tensor::tch::Device,
) -> anyhow::Result<()> {
    println!("\n=== The chapter's runs (scored on the held-out validation images) ===");
    for r in rows {
        println!(
            "{:<22} {:<48} accuracy {:.4}  loss {:.4}",
            r.name, r.what, r.accuracy, r.loss
        );
    }
    let best = rows
        .iter()
        .filter(|r| r.accuracy.is_finite())
        .max_by(|a, b| a.accuracy.total_cmp(&b.accuracy))
        .ok_or_else(|| anyhow::anyhow!("no run scored"))?;
    let csv = args.out.join("submission.csv");
    let n = super::predict::write_submission(
        &best.model,
        &source.join("test"),
        &csv,
        "species",
        device,
    )?;
    println!(
        "Wrote {} ({n} test images, the {} model)",
        csv.display(),
        best.name
    );
    let mut summary = json!({
        "runs": rows.iter().map(|r| json!({"name": r.name, "what": r.what,
            "validation_accuracy": r.accuracy, "validation_loss": r.loss})).collect::<Vec<_>>(),
        "submission": {"model": best.name, "rows": n},
    });
    if let Some(labels) = hidden_labels {
        let accuracy = score_submission(&csv, labels)?;
        println!("The stand-in's hidden test labels score the submission at {accuracy:.4}");
        summary["submission"]["stand_in_test_accuracy"] = json!(accuracy);
    }
    write_json(&args.out.join("summary.json"), &summary)
}

/// Fraction of the submission's rows that match `labels` (`file,species`).
fn score_submission(csv: &Path, labels: &Path) -> anyhow::Result<f64> {
    let read = |p: &Path| -> anyhow::Result<std::collections::HashMap<String, String>> {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        Ok(text
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(','))
            .map(|(f, s)| (f.to_string(), s.to_string()))
            .collect())
    };
    let (ours, truth) = (read(csv)?, read(labels)?);
    anyhow::ensure!(!truth.is_empty(), "{}: no label", labels.display());
    let right = truth
        .iter()
        .filter(|(f, s)| ours.get(*f) == Some(*s))
        .count();
    Ok(right as f64 / truth.len() as f64)
}

/// VGG16 without its top at `size`, frozen, with `Flatten + Dense(classes)`: the chapter's
/// model, built to check its parameter counts (14,813,004 and 98,316 trainable for 12
/// species at 150x150).
fn vgg16_parameter_check(size: i64, classes: i64) -> anyhow::Result<()> {
    let device = convkit_tensor::tch::Device::Cpu;
    let mut conv_base = Base::Vgg16.build(false, size, Pooling::None, device)?;
    conv_base.set_trainable(false);
    let mut g = Graph::new().on_device(device);
    let x = g.input([3, size, size]);
    let y = g.apply(conv_base, x)?;
    let y = g.apply(Flatten::new(), y)?;
    let y = g.apply(Dense::new(classes).activation(Activation::Softmax), y)?;
    let model = g.model("vgg16_plants", &[x], &[y])?;
    let summary = convkit_layers::models::summary::summary(&model);
    println!(
        "VGG16 base (frozen) + Flatten + Dense({classes}) at {size}x{size}: {} parameters, {} \
         trainable (the chapter's 12 species at 150x150: 14,813,004 and 98,316)",
        summary.total_params, summary.trainable_params
    );
    Ok(())
}

/// The stand-in in Kaggle's layout: `train/<class>/` and an unlabeled `test/` whose labels
/// sit beside it in `test_labels.csv`. Returns the folder and that file.
fn build_stand_in(args: &PlantsArgs) -> anyhow::Result<(PathBuf, PathBuf)> {
    let per_class = args.stand_in_per_class;
    let data_dir = &args.rt.data_dir;
    let dir = data_dir.join(format!("plants-stand-in-{per_class}"));
    let labels = dir.join("test_labels.csv");
    println!(
        "No --data given: Kaggle's plant seedlings are not available offline, so this run uses \
         a stand-in in their layout: ten classes of digit scenes (MNIST digits 'zero' to \
         'nine' tinted, scaled and placed over crops of real photos), {per_class} per class in \
         train/<class>/ and {STAND_IN_TEST} per class unlabeled in test/, in {}.",
        dir.display()
    );
    if labels.is_file() {
        return Ok((dir, labels));
    }
    let all = dir.join(".all");
    let mnist = Mnist::load(&data_dir.join("mnist"))?;
    let backgrounds = Backgrounds::load(&data_dir.join("backgrounds"))?;
    export_scenes_class_folders(
        &mnist,
        &STAND_IN_CLASSES,
        per_class + STAND_IN_TEST,
        64,
        &backgrounds,
        &all,
    )?;
    let mut csv = String::from("file,species\n");
    for (_, name) in STAND_IN_CLASSES {
        let train = dir.join("train").join(name);
        std::fs::create_dir_all(&train)?;
        std::fs::create_dir_all(dir.join("test"))?;
        for k in 0..per_class + STAND_IN_TEST {
            let src = all.join(name).join(format!("{name}.{k}.png"));
            let (dst, test_name) = if k < per_class {
                (train.join(format!("{name}.{k}.png")), None)
            } else {
                // Test files are named so that nothing in the name gives the class away.
                let id = format!(
                    "{:08x}.png",
                    convkit_tensor::seed::derive(7, name, k as u64) as u32
                );
                (dir.join("test").join(&id), Some(id))
            };
            if !dst.exists() {
                std::fs::hard_link(&src, &dst)
                    .or_else(|_| std::fs::copy(&src, &dst).map(|_| ()))?;
            }
            if let Some(id) = test_name {
                csv += &format!("{id},{name}\n");
            }
        }
    }
    convkit_tensor::atomic::write_bytes_atomic(&labels, csv.as_bytes())?;
    Ok((dir, labels))
}
