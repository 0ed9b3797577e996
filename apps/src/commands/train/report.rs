//! The test set's results: `metrics.json` (loss, accuracy, top-5), the classification report
//! (printed and `report.json`, as scikit-learn's), `confusion.png` with the class names, and
//! `misclassified.png`: the most confidently wrong test images, "true → predicted (p)".

use std::path::{Path, PathBuf};

use convkit_data::image_folder::LabelMode;
use convkit_layers::prelude::*;
use convkit_tensor::tch::{self, Kind, Tensor};
use convkit_tensor::BatchSource;
use serde_json::json;

use super::network::Plan;
use crate::runtime::write_json;

/// Most images in `misclassified.png`.
const MISCLASSIFIED_SHOWN: usize = 16;
/// Side of each of its tiles.
const TILE: u32 = 160;

/// What the test set gave.
#[derive(Debug, Clone)]
pub struct TestResult {
    /// Test loss.
    pub loss: f64,
    /// Test accuracy.
    pub accuracy: f64,
    /// The report.
    pub report: ClassificationReport,
}

/// The model's outputs `(N, units)` over `source` (inference mode) and the class index of
/// each sample's target.
pub fn predict_source(
    model: &dyn Model,
    source: &mut dyn BatchSource,
) -> anyhow::Result<(Tensor, Vec<i64>)> {
    let device = model.device();
    let mut outputs = Vec::new();
    let mut labels = Vec::new();
    tch::no_grad(|| -> anyhow::Result<()> {
        for batch in source.epoch(0)? {
            let batch = batch?.to_device(device)?;
            outputs.push(
                model
                    .forward(&batch.inputs, false)?
                    .f_to_device(tch::Device::Cpu)?,
            );
            labels.extend(class_indices(&batch.targets)?);
        }
        Ok(())
    })?;
    anyhow::ensure!(!outputs.is_empty(), "the test data holds no sample");
    Ok((Tensor::f_cat(&outputs, 0)?, labels))
}

/// Class indices of targets: `(N,)` ints, `(N, 1)` binary, `(N, C)` one-hot.
fn class_indices(y: &Tensor) -> anyhow::Result<Vec<i64>> {
    let idx = match y.size().as_slice() {
        [_] => y.f_to_kind(Kind::Int64)?,
        [_, 1] => y.f_squeeze_dim(1)?.f_round()?.f_to_kind(Kind::Int64)?,
        [_, _] => y.f_argmax(1, false)?,
        other => anyhow::bail!("targets of shape {other:?} are not class labels"),
    };
    Ok(Vec::<i64>::try_from(idx.f_to_device(tch::Device::Cpu)?)?)
}

/// Predicted class and its probability for each row of `probs`.
fn predictions(probs: &Tensor, label_mode: LabelMode) -> anyhow::Result<Vec<(i64, f64)>> {
    let probs = probs.f_to_kind(Kind::Double)?;
    if label_mode == LabelMode::Binary {
        let p: Vec<f64> = Vec::try_from(probs.f_reshape([-1])?)?;
        return Ok(p
            .into_iter()
            .map(|p| if p > 0.5 { (1, p) } else { (0, 1.0 - p) })
            .collect());
    }
    let (values, indices) = probs.f_max_dim(1, false)?;
    let v: Vec<f64> = Vec::try_from(values)?;
    let i: Vec<i64> = Vec::try_from(indices)?;
    Ok(i.into_iter().zip(v).collect())
}

/// Renders the confusion matrix of `model` on the batches `make_source` gives, as the PNG a
/// `TensorBoard` callback writes after each epoch.
pub fn confusion_renderer(
    mut make_source: impl FnMut() -> anyhow::Result<Box<dyn BatchSource>> + Send + 'static,
    class_names: Vec<String>,
    label_mode: LabelMode,
) -> convkit_layers::training::callbacks::tensorboard::EpochImage {
    Box::new(move |epoch, model| {
        let mut render = || -> anyhow::Result<EncodedImage> {
            let mut source = make_source()?;
            let (probs, labels) = predict_source(model, source.as_mut())?;
            let predicted: Vec<i64> = predictions(&probs, label_mode)?
                .iter()
                .map(|p| p.0)
                .collect();
            let counts =
                convkit_layers::training::confusion_matrix(&labels, &predicted, class_names.len())?;
            let title = format!("Confusion matrix (validation), epoch {}", epoch + 1);
            let img =
                convkit_viz::confusion::confusion_matrix_image(&counts, &class_names, &title)?;
            let mut png = Vec::new();
            img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)?;
            Ok(EncodedImage {
                width: img.width(),
                height: img.height(),
                png,
            })
        };
        render()
            .map(Some)
            .map_err(|e| convkit_layers::Error::Model {
                model: "TensorBoard".into(),
                problem: format!("confusion image: {e:#}"),
            })
    })
}

/// Writes the test results of phase `label` (`test`, or `frozen` for the first phase of a
/// fine-tuning, whose files get a `frozen_` prefix) and prints the report.
pub fn write(
    out: &Path,
    label: &str,
    plan: &Plan,
    logs: &Logs,
    probs: &Tensor,
    labels: &[i64],
    paths: &[PathBuf],
) -> anyhow::Result<TestResult> {
    let names = &plan.info.class_names;
    let preds = predictions(probs, plan.label_mode)?;
    let predicted: Vec<i64> = preds.iter().map(|p| p.0).collect();
    let report = ClassificationReport::new(labels, &predicted, names)?;
    let loss = logs.get("loss").unwrap_or(f64::NAN);
    let accuracy = logs.get("accuracy").unwrap_or(f64::NAN);
    let top5 = logs
        .0
        .iter()
        .find(|(k, _)| k.contains("top_k"))
        .map(|(_, v)| *v);
    let prefix = if label == "test" {
        String::new()
    } else {
        format!("{label}_")
    };
    println!(
        "\n{label}: test loss {loss:.4} - test accuracy {accuracy:.4}{}",
        top5.map(|t| format!(" - top-5 accuracy {t:.4}"))
            .unwrap_or_default()
    );
    println!(
        "\nClassification report ({} test images):\n{}",
        labels.len(),
        report.to_text()
    );
    println!(
        "Confusion matrix (rows: true class, columns: predicted):\n{}",
        confusion_text(&report)
    );
    let mut metrics =
        json!({"test_loss": loss, "test_accuracy": accuracy, "test_images": labels.len()});
    if let Some(t) = top5 {
        metrics["test_top_5_accuracy"] = json!(t);
    }
    write_json(&out.join(format!("{prefix}metrics.json")), &metrics)?;
    write_json(&out.join(format!("{prefix}report.json")), &report.to_json())?;
    convkit_viz::confusion::save_confusion_matrix(
        &report.confusion,
        names,
        "Confusion matrix (test set)",
        &out.join(format!("{prefix}confusion.png")),
    )?;
    if paths.len() == labels.len() {
        misclassified(out, &prefix, names, labels, &preds, paths)?;
    } else {
        tracing::warn!(
            images = paths.len(),
            predictions = labels.len(),
            "misclassified.png skipped: the test files served do not match the predictions"
        );
    }
    Ok(TestResult {
        loss,
        accuracy,
        report,
    })
}

/// The confusion matrix as a text table, class names cut to 12 characters.
fn confusion_text(report: &ClassificationReport) -> String {
    let short: Vec<String> = report
        .class_names
        .iter()
        .map(|n| n.chars().take(12).collect())
        .collect();
    let width = short.iter().map(|n| n.chars().count()).max().unwrap_or(1);
    let cell = report
        .confusion
        .iter()
        .flatten()
        .map(|c| c.to_string().len())
        .max()
        .unwrap_or(1)
        .max(3);
    let mut s = format!("{:>width$} ", "");
    for c in 0..short.len() {
        s += &format!(" {c:>cell$}");
    }
    s += "\n";
    for (i, (name, row)) in short.iter().zip(&report.confusion).enumerate() {
        s += &format!("{name:>width$} ");
        for v in row {
            s += &format!(" {v:>cell$}");
        }
        s += &format!("   ({i})\n");
    }
    s
}

/// `misclassified.png`: the wrong predictions of highest confidence, captioned.
fn misclassified(
    out: &Path,
    prefix: &str,
    names: &[String],
    labels: &[i64],
    preds: &[(i64, f64)],
    paths: &[PathBuf],
) -> anyhow::Result<()> {
    let mut wrong: Vec<usize> = (0..labels.len())
        .filter(|&i| preds[i].0 != labels[i])
        .collect();
    wrong.sort_by(|&a, &b| preds[b].1.total_cmp(&preds[a].1));
    wrong.truncate(MISCLASSIFIED_SHOWN);
    let path = out.join(format!("{prefix}misclassified.png"));
    if wrong.is_empty() {
        println!("No test image is misclassified.");
        let _ = std::fs::remove_file(&path);
        return Ok(());
    }
    let name = |c: i64| {
        usize::try_from(c)
            .ok()
            .and_then(|c| names.get(c))
            .map_or("?", String::as_str)
    };
    let mut tiles = Vec::new();
    let mut captions = Vec::new();
    for &i in &wrong {
        let img = convkit_data::image_file::open_image(&paths[i])?.to_rgb8();
        tiles.push(image::imageops::resize(
            &img,
            TILE,
            TILE,
            image::imageops::FilterType::Triangle,
        ));
        captions.push(format!(
            "{} → {} ({:.2})",
            name(labels[i]),
            name(preds[i].0),
            preds[i].1
        ));
    }
    let grid = convkit_viz::image_grid(&tiles, 4, 6, &captions)?;
    convkit_viz::save_png(&grid, &path)?;
    println!(
        "Wrote {} ({} most confidently misclassified test images)",
        path.display(),
        wrong.len()
    );
    Ok(())
}
