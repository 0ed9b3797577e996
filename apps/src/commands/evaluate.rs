//! `convkit evaluate`: a trained model's loss and metrics on a folder of class subfolders,
//! as Keras' `model.evaluate(dataset)`: a model directory or run of `convkit train`, or a
//! Keras 3 `.keras` file (compiled: its own loss and metrics).
//!
//! ```text
//! convkit evaluate --model runs/flowers flowers/test
//! convkit evaluate --model cats.keras cats_vs_dogs_small/test --json test.json
//! ```

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use convkit_layers::prelude::*;
use convkit_tensor::tch::{Kind, Tensor};
use serde_json::json;

use crate::model_arg::{LoadedModel, ModelArgs};
use crate::ranges;
use crate::runtime::{write_json, RuntimeArgs};

/// Arguments of `convkit evaluate`.
#[derive(Args, Debug)]
pub struct EvaluateArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// A folder of class subfolders (the classes the model was trained on, in the same
    /// order: sorted by name).
    folder: PathBuf,
    /// Write the loss and metrics as a JSON object.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Images evaluated at once.
    #[arg(long, default_value_t = 32, value_parser = ranges::batch_size())]
    batch_size: usize,
    #[command(flatten)]
    rt: RuntimeArgs,
}

/// An image file and its label (the index of its class subfolder).
type Labeled = (PathBuf, i64);

/// The images of each class subfolder of `folder` (sorted by name, as
/// `image_dataset_from_directory` lists them), and the class names.
fn labeled_images(folder: &Path) -> anyhow::Result<(Vec<String>, Vec<Labeled>)> {
    let options = convkit_data::image_folder::ImageFolderOptions::image_dataset_from_directory();
    let listing = convkit_data::image_folder::list_class_folders(folder, &options)?;
    anyhow::ensure!(
        !listing.class_names.is_empty(),
        "{}: no class subfolders (evaluate takes a folder with one subfolder per class)",
        folder.display()
    );
    anyhow::ensure!(
        !listing.samples.is_empty(),
        "{}: no images in its class subfolders",
        folder.display()
    );
    let images = listing
        .samples
        .into_iter()
        .map(|s| (s.path, s.label as i64))
        .collect();
    Ok((listing.class_names, images))
}

/// The loss that goes with the model's output for `classes` classes, when it is not compiled.
fn default_loss(units: i64, classes: usize) -> anyhow::Result<Loss> {
    Ok(match units {
        1 if classes == 2 => Loss::BinaryCrossentropy { from_logits: false },
        n if n == classes as i64 => Loss::SparseCategoricalCrossentropy { from_logits: false },
        n => anyhow::bail!("the model ends in {n} units; the folder has {classes} classes"),
    })
}

/// The targets `labels` as `loss` takes them.
fn targets(labels: &[i64], loss: &Loss, classes: usize) -> anyhow::Result<Tensor> {
    let y = Tensor::f_from_slice(labels)?;
    Ok(match loss {
        Loss::BinaryCrossentropy { .. } => y.f_to_kind(Kind::Float)?.f_unsqueeze(1)?,
        Loss::CategoricalCrossentropy { .. } => {
            y.f_one_hot(classes as i64)?.f_to_kind(Kind::Float)?
        }
        _ => y,
    })
}

/// Runs the command.
pub fn run(args: EvaluateArgs) -> anyhow::Result<()> {
    let device = args.rt.setup()?;
    let mut m = LoadedModel::load(&args.model, device)?;
    anyhow::ensure!(
        !m.is_application(),
        "--model {}: an ImageNet application has no classes of a folder to be scored on; \
         evaluate takes a model trained on them (convkit train, or a .keras file)",
        args.model.model
    );
    let (names, images) = labeled_images(&args.folder)?;
    if let Some(info) = m.classifier() {
        anyhow::ensure!(
            info.class_names == names,
            "{}: its classes are [{}]; the model was trained on [{}]",
            args.folder.display(),
            names.join(", "),
            info.class_names.join(", ")
        );
    }
    if m.model.compiled().is_none() {
        let units = m
            .model
            .output_shape()
            .and_then(|s| s.last().copied())
            .unwrap_or(0);
        let loss = default_loss(units, names.len())?;
        convkit_layers::training::compile(
            m.model.as_mut(),
            Box::new(RMSprop::new()),
            loss,
            &[Metric::Accuracy],
        )?;
    }
    let compiled = m.model.compiled().context("compiled above")?;
    anyhow::ensure!(
        compiled.outputs.len() == 1,
        "--model {}: a model with {} outputs; evaluate scores classifiers of one output",
        args.model.model,
        compiled.outputs.len()
    );
    let loss = compiled.outputs[0].loss;
    // Chunks of images at a time; every log is a mean over samples, so chunks combine by
    // their sizes.
    let mut totals: Vec<(String, f64)> = Vec::new();
    let chunk = (args.batch_size * 8).max(1);
    for part in images.chunks(chunk) {
        let paths: Vec<PathBuf> = part.iter().map(|(p, _)| p.clone()).collect();
        let labels: Vec<i64> = part.iter().map(|(_, l)| *l).collect();
        let x = m.preprocess(&m.load_raw(&paths)?)?;
        let y = targets(&labels, &loss, names.len())?;
        let logs = m.model.evaluate(&x, &y, args.batch_size)?;
        for (name, value) in logs.0 {
            let weighted = value * part.len() as f64;
            match totals.iter_mut().find(|(n, _)| *n == name) {
                Some(t) => t.1 += weighted,
                None => totals.push((name, weighted)),
            }
        }
    }
    let n = images.len() as f64;
    let logs: Vec<(String, f64)> = totals.into_iter().map(|(k, v)| (k, v / n)).collect();
    println!(
        "{} images of {} classes: {}",
        images.len(),
        names.len(),
        logs.iter()
            .map(|(k, v)| format!("{k}: {v:.4}"))
            .collect::<Vec<_>>()
            .join(" - ")
    );
    if let Some(path) = &args.json {
        let mut obj = serde_json::Map::new();
        for (k, v) in &logs {
            obj.insert(k.clone(), json!(v));
        }
        obj.insert("samples".into(), json!(images.len()));
        write_json(path, &serde_json::Value::Object(obj))?;
    }
    Ok(())
}
