//! `convkit predict`: classify images (files, or every image of a folder) with a saved model
//! or a pretrained application; print the top classes by name, and optionally write them as
//! JSON (`--json`) or as a Kaggle-style submission CSV (`--csv`, `file,<label>`).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use convkit_data::image_folder::ALL_FORMATS;
use convkit_layers::ModelApi;
use serde_json::json;

use convkit_tensor::distributed::ProcessGroup;
use convkit_tensor::tch::Tensor;
use convkit_tensor::Shard;

use crate::model_arg::{LoadedModel, ModelArgs, TopClass};
use crate::ranges;
use crate::ranks::Ranks;
use crate::runtime::{write_json, RuntimeArgs};

/// Arguments of `convkit predict`.
#[derive(Args, Debug)]
pub struct PredictArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Classes to print per image.
    #[arg(long, default_value_t = 5, value_parser = ranges::count(1, 1_000))]
    top: usize,
    /// Write one object per image: {"image", "output" (the raw model output), "top"}.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write `file,<label>` rows (the top class of each image), as a Kaggle submission.
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Header of the CSV's second column (the plant-seedlings submission's is `species`).
    #[arg(long, default_value = "label")]
    csv_label: String,
    /// Images classified at once.
    #[arg(long, default_value_t = 32, value_parser = ranges::batch_size())]
    batch_size: usize,
    /// Images, or folders whose images (sorted by name, subfolders included) are classified.
    #[arg(required = true)]
    images: Vec<PathBuf>,
    #[command(flatten)]
    rt: RuntimeArgs,
}

/// One image to classify and the name it has in the CSV.
#[derive(Clone)]
struct Input {
    path: PathBuf,
    name: String,
}

/// The images named by `args`: files as given, folders walked in name order.
fn inputs(paths: &[PathBuf]) -> anyhow::Result<Vec<Input>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let before = out.len();
            walk(p, p, &mut out)?;
            anyhow::ensure!(
                out.len() > before,
                "{}: no image in this folder (formats: {})",
                p.display(),
                ALL_FORMATS.join(", ")
            );
        } else {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push(Input {
                path: p.clone(),
                name,
            });
        }
    }
    Ok(out)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<Input>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        let meta = std::fs::symlink_metadata(&p)?;
        let hidden = p
            .file_name()
            .is_some_and(|n| n.as_encoded_bytes().starts_with(b"."));
        if hidden {
            continue;
        }
        if meta.is_dir() {
            walk(root, &p, out)?;
        } else if meta.is_file() {
            let ext = p
                .extension()
                .map(|e| e.to_string_lossy().to_lowercase())
                .unwrap_or_default();
            if ALL_FORMATS.contains(&ext.as_str()) {
                let name = p
                    .strip_prefix(root)
                    .unwrap_or(&p)
                    .to_string_lossy()
                    .into_owned();
                out.push(Input { path: p, name });
            }
        }
    }
    Ok(())
}

/// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// One classified image: its input, top classes and raw output.
pub struct Classified {
    input: Input,
    top: Vec<TopClass>,
    output: Vec<f64>,
}

/// The raw outputs of `m` for `inputs` (one row each, in order), `batch_size` at a time.
fn outputs_of(m: &LoadedModel, inputs: &[Input], batch_size: usize) -> anyhow::Result<Tensor> {
    let mut outputs = Vec::with_capacity(inputs.len().div_ceil(batch_size.max(1)));
    for chunk in inputs.chunks(batch_size.max(1)) {
        let paths: Vec<PathBuf> = chunk.iter().map(|i| i.path.clone()).collect();
        let x = m.preprocess(&m.load_raw(&paths)?)?;
        outputs.push(m.model.predict(&x, batch_size)?);
    }
    Ok(Tensor::f_cat(&outputs, 0)?)
}

/// `inputs` with their rows of `outputs` and top classes.
fn classified(
    m: &LoadedModel,
    inputs: Vec<Input>,
    outputs: &Tensor,
    top: usize,
) -> anyhow::Result<Vec<Classified>> {
    let tops = m.top_classes(outputs, top)?;
    let mut out = Vec::with_capacity(inputs.len());
    for (k, (input, top)) in inputs.into_iter().zip(tops).enumerate() {
        let output = Vec::try_from(outputs.f_get(k as i64)?.f_reshape([-1])?)?;
        out.push(Classified { input, top, output });
    }
    Ok(out)
}

/// Classifies `inputs` with `m`, `batch_size` at a time.
fn classify(
    m: &LoadedModel,
    inputs: Vec<Input>,
    batch_size: usize,
    top: usize,
) -> anyhow::Result<Vec<Classified>> {
    if inputs.is_empty() {
        return Ok(Vec::new());
    }
    let outputs = outputs_of(m, &inputs, batch_size)?;
    classified(m, inputs, &outputs, top)
}

/// [`classify`] split across the ranks of `group`: rank r classifies the images at positions
/// r, r+N, ... (padded from the start, as `DistributedSampler`, so every rank sends as many
/// rows), the outputs are gathered, and every rank gets all results in the listing order.
fn classify_sharded(
    m: &LoadedModel,
    inputs: Vec<Input>,
    batch_size: usize,
    top: usize,
    group: &ProcessGroup,
) -> anyhow::Result<Vec<Classified>> {
    let (n, world) = (inputs.len(), group.world_size());
    if n == 0 {
        return Ok(Vec::new());
    }
    let positions: Vec<usize> = (0..n).collect();
    let mine: Vec<Input> = Shard::training(group.rank(), world)?
        .select(&positions)
        .into_iter()
        .map(|p| inputs[p].clone())
        .collect();
    let outputs = outputs_of(m, &mine, batch_size)?.f_to_device(group.device())?;
    let gathered = group.all_gather(&outputs)?;
    let mut rows: Vec<Option<Tensor>> = (0..n).map(|_| None).collect();
    for (rank, t) in gathered.iter().enumerate() {
        for j in 0..mine.len() {
            let q = rank + world * j;
            if q < n {
                rows[q] = Some(t.f_get(j as i64)?);
            }
        }
    }
    let rows: Vec<Tensor> = rows.into_iter().flatten().collect();
    anyhow::ensure!(
        rows.len() == n,
        "gathered {} of {n} predictions",
        rows.len()
    );
    classified(m, inputs, &Tensor::f_stack(&rows, 0)?, top)
}

/// `file,<label>` rows of the top class of each image (a Kaggle submission).
fn submission_csv(results: &[Classified], label: &str) -> String {
    let mut csv = format!("file,{}\n", csv_field(label));
    for r in results {
        if let Some(best) = r.top.first() {
            csv += &format!("{},{}\n", csv_field(&r.input.name), csv_field(&best.class));
        }
    }
    csv
}

/// Classifies every image of `folder` with the model directory `model` and writes the
/// submission CSV `csv` (header `file,<label>`); returns the rows written.
pub fn write_submission(
    model: &Path,
    folder: &Path,
    csv: &Path,
    label: &str,
    device: convkit_tensor::tch::Device,
) -> anyhow::Result<usize> {
    let args = ModelArgs {
        model: model.to_string_lossy().into_owned(),
        weights: None,
        include_top: true,
        pooling: "avg".into(),
        rescale: None,
        preprocess: None,
    };
    let m = LoadedModel::load(&args, device)?;
    let results = classify(&m, inputs(&[folder.to_path_buf()])?, 32, 1)?;
    convkit_tensor::atomic::write_bytes_atomic(csv, submission_csv(&results, label).as_bytes())
        .with_context(|| format!("writing {}", csv.display()))?;
    Ok(results.len())
}

/// Runs the command. Under `torchrun` the images are split across the ranks and rank 0
/// prints and writes all results.
pub fn run(args: PredictArgs) -> anyhow::Result<()> {
    let device = args.rt.setup()?;
    let ranks = Ranks::from_env()?;
    let m = LoadedModel::load(&args.model, device)?;
    let all = inputs(&args.images)?;
    let results = match ranks.group() {
        Some(g) => classify_sharded(&m, all, args.batch_size, args.top, g)?,
        None => classify(&m, all, args.batch_size, args.top)?,
    };
    if !ranks.is_main() {
        return Ok(());
    }
    for r in &results {
        println!("{}:", r.input.path.display());
        for c in &r.top {
            println!("  {} ({}) {:.4}", c.class, c.index, c.probability);
        }
    }
    if let Some(path) = &args.json {
        let records: Vec<serde_json::Value> = results
            .iter()
            .map(|r| {
                json!({
                    "image": r.input.path.to_string_lossy(),
                    "output": r.output,
                    "top": r.top.iter().map(top_json).collect::<Vec<_>>(),
                })
            })
            .collect();
        write_json(path, &serde_json::Value::Array(records))?;
        println!("Wrote {}", path.display());
    }
    if let Some(path) = &args.csv {
        convkit_tensor::atomic::write_bytes_atomic(
            path,
            submission_csv(&results, &args.csv_label).as_bytes(),
        )
        .with_context(|| format!("writing {}", path.display()))?;
        println!("Wrote {} ({} rows)", path.display(), results.len());
    }
    Ok(())
}

fn top_json(c: &TopClass) -> serde_json::Value {
    json!({"index": c.index, "class": c.class, "probability": c.probability})
}
