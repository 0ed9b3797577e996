//! Saving and loading models: `model.json` (architecture and compile settings),
//! `model.safetensors` (weights with Keras-style names such as `conv2d/kernel`) and, for
//! compiled models, `optimizer.safetensors` (optimizer state, so training can resume), and
//! optionally `info.json`: what the model's users need besides its layers (a classifier's
//! class names and input preprocessing), opaque to this crate.
//!
//! Every file is written through a temporary file and a rename, so a crash never leaves a
//! half-written file.

pub mod export;
pub mod fingerprint;
pub mod h5;
pub mod import;
pub mod keras_archive;

use std::path::Path;

use convkit_tensor::tch::{Device, Tensor};
use serde_json::{json, Value};

use crate::models::model::Model;
use crate::training::losses::Loss;
use crate::training::metrics::Metric;
use crate::training::{compile, compile_outputs, OutputLoss};
use crate::{Error, Result};

/// Architecture file of a model directory.
pub const ARCHITECTURE_FILE: &str = "model.json";
/// Weights file of a model directory.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// Optimizer-state file of a model directory.
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";
/// Optional file of a model directory: JSON its users need besides the layers.
pub const INFO_FILE: &str = "info.json";

/// Writes every weight of `model` to a safetensors file, atomically.
pub fn save_weights(model: &dyn Model, path: &Path) -> Result<()> {
    let weights: Vec<(String, Tensor)> = model
        .named_params()
        .into_iter()
        .map(|(n, p)| {
            Ok((
                n,
                p.tensor
                    .f_detach()?
                    .f_to_device(Device::Cpu)?
                    .f_contiguous()?,
            ))
        })
        .collect::<Result<_>>()?;
    convkit_tensor::atomic::write_atomic(path, |tmp| -> Result<()> {
        Ok(Tensor::write_safetensors(&weights, tmp)?)
    })
}

/// Loads weights written by [`save_weights`]; every name and shape must match, and each
/// mismatch is reported by name.
pub fn load_weights(model: &mut dyn Model, path: &Path) -> Result<()> {
    // The header first, in plain Rust: a corrupt file or one of another model is refused,
    // naming each weight that differs, before libtorch makes any tensor.
    let entries = convkit_tensor::safetensors_header::read_header(path)?;
    let expected: Vec<(String, Vec<i64>)> = model
        .named_params()
        .into_iter()
        .map(|(n, p)| (n, p.tensor.size()))
        .collect();
    let problems = convkit_tensor::safetensors_header::differences(&entries, &expected);
    if !problems.is_empty() {
        return Err(Error::Import {
            path: path.to_path_buf(),
            problems,
        });
    }
    let weights = Tensor::read_safetensors(path)
        .map_err(|e| Error::file(path, format!("cannot read weights: {e}")))?;
    model
        .set_weights(&weights)
        .map_err(|e| Error::file(path, e))
}

/// The JSON written to `model.json`.
pub fn model_json(model: &dyn Model) -> Value {
    let compile = model.compiled().map(|c| match c.outputs.as_slice() {
        [one] => json!({"optimizer": c.optimizer.config(), "loss": one.loss, "metrics": one.requested_metrics}),
        many => json!({
            "optimizer": c.optimizer.config(),
            "loss": many.iter().map(|o| json!(o.loss)).collect::<Vec<_>>(),
            "loss_weights": many.iter().map(|o| o.weight).collect::<Vec<_>>(),
            "metrics": many.iter().map(|o| json!(o.requested_metrics)).collect::<Vec<_>>(),
        }),
    });
    json!({"format": "convkit-model", "format_version": 1, "architecture": model.architecture(), "compile": compile})
}

/// Largest `model.json` read (64 MiB; the largest application's is under 1 MiB).
pub const MAX_ARCHITECTURE_BYTES: u64 = 64 << 20;

/// Files a model directory holds; anything else in it is not part of the model.
pub const MODEL_FILES: [&str; 4] = [ARCHITECTURE_FILE, WEIGHTS_FILE, OPTIMIZER_FILE, INFO_FILE];

/// Saves the architecture, weights and (when compiled) optimizer state as the model directory
/// `dir`, replacing the one there as one unit; a path ending in `.keras` is written as a Keras 3
/// archive instead ([`keras_archive::save_keras_model`]), which Keras loads.
///
/// The files are written into a hidden sibling (`.<dir>.tmp-<pid>`) that then takes the place
/// of `dir` in one rename ([`replace_dir`]), so at every instant `dir` is either the whole
/// previous model or the whole new one, and a failed save (a full disk) leaves the previous
/// one as it was. Since the directory is replaced whole, a `dir` holding anything besides
/// [`MODEL_FILES`] is refused rather than emptied: save the model into a folder of its own
/// (the commands use `<out>/model`). Temporaries left by a killed save are removed first.
pub fn save_model(model: &dyn Model, dir: &Path) -> Result<()> {
    save_model_with_info(model, dir, None)
}

/// [`save_model`], with `info` (when given) written as the directory's [`INFO_FILE`] in the
/// same unit; [`load_model_info`] reads it back.
pub fn save_model_with_info(model: &dyn Model, dir: &Path, info: Option<&Value>) -> Result<()> {
    if keras_archive::is_keras_archive(dir) {
        return keras_archive::save_keras_model_with_info(model, dir, info);
    }
    refuse_foreign_files(dir)?;
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(parent) = parent {
        std::fs::create_dir_all(parent).map_err(|e| Error::file(parent, e))?;
        convkit_tensor::atomic::remove_stale_temps(parent);
    }
    let tmp = convkit_tensor::atomic::temp_sibling(dir);
    let _ = std::fs::remove_dir_all(&tmp);
    let written = std::fs::create_dir_all(&tmp)
        .map_err(|e| Error::file(&tmp, e))
        .and_then(|()| write_model_files(model, &tmp, info))
        .and_then(|()| Ok(replace_dir(&tmp, dir)?));
    written.map_err(|e| {
        let _ = std::fs::remove_dir_all(&tmp);
        Error::file(
            dir,
            format!("cannot save the model (the previous one is kept): {e}"),
        )
    })
}

/// Checks, before any work, that the model directory `dir` can be saved: it (or the folder
/// it would be made in) is a writable directory, and it holds only a model's files.
pub fn check_writable(dir: &Path) -> Result<()> {
    refuse_foreign_files(dir)?;
    let parent = match dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(p) => p.to_path_buf(),
        None => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| Error::file(&parent, e))?;
    let probe = convkit_tensor::atomic::temp_sibling(dir);
    let made = std::fs::create_dir(&probe).or_else(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => Ok(()),
        _ => Err(e),
    });
    made.map_err(|e| Error::file(dir, format!("cannot be written: {e}")))?;
    let _ = std::fs::remove_dir_all(&probe);
    Ok(())
}

/// Writes the model's files into the (new, empty) directory `dir`.
fn write_model_files(model: &dyn Model, dir: &Path, info: Option<&Value>) -> Result<()> {
    save_weights(model, &dir.join(WEIGHTS_FILE))?;
    if let Some(info) = info {
        let bytes = serde_json::to_vec_pretty(info).map_err(|e| Error::file(dir, e))?;
        convkit_tensor::atomic::write_bytes_atomic(&dir.join(INFO_FILE), &bytes)?;
    }
    if let Some(c) = model.compiled() {
        convkit_optim::save_state(c.optimizer.as_ref(), &dir.join(OPTIMIZER_FILE))?;
    }
    let json = serde_json::to_vec_pretty(&model_json(model)).map_err(|e| Error::file(dir, e))?;
    Ok(convkit_tensor::atomic::write_bytes_atomic(
        &dir.join(ARCHITECTURE_FILE),
        &json,
    )?)
}

/// Fails when `dir` exists and holds something other than a model's files.
fn refuse_foreign_files(dir: &Path) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
            return Err(Error::file(dir, "exists and is not a directory"))
        }
        Err(e) => return Err(Error::file(dir, e)),
    };
    let mut foreign: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !MODEL_FILES.contains(&n.as_str()) && !n.starts_with('.'))
        .collect();
    if foreign.is_empty() {
        return Ok(());
    }
    foreign.sort();
    foreign.truncate(5);
    Err(Error::file(
        dir,
        format!(
            "holds files that are not part of a model ({}); a model directory is replaced as \
             one unit, so save the model into a folder of its own",
            foreign.join(", ")
        ),
    ))
}

pub use convkit_tensor::atomic::replace_dir;

/// The model directory `dir` names: `dir` itself when it holds a `model.json`, else the
/// `model/` folder of a run directory (`runs/mnist` -> `runs/mnist/model`) when that does.
pub fn model_dir(dir: &Path) -> Option<std::path::PathBuf> {
    [dir.to_path_buf(), dir.join(RUN_MODEL_DIR)]
        .into_iter()
        .find(|d| d.join(ARCHITECTURE_FILE).is_file())
}

/// The [`INFO_FILE`] of the model directory `dir` (or of a run directory's model), `None`
/// when the model was saved without one; for a `.keras` archive, what
/// [`keras_archive::save_keras_model_with_info`] kept in it.
pub fn load_model_info(dir: &Path) -> Result<Option<Value>> {
    if keras_archive::is_keras_archive(dir) && dir.is_file() {
        return keras_archive::load_keras_model_info(dir);
    }
    let dir = model_dir(dir).unwrap_or_else(|| dir.to_path_buf());
    let path = dir.join(INFO_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let bytes = convkit_tensor::files::read_regular_file(&path, MAX_ARCHITECTURE_BYTES)?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::file(&path, format!("invalid JSON: {e}")))
}

/// The folder of a run directory (a command's `--out`) that holds its final model.
pub const RUN_MODEL_DIR: &str = "model";

/// Loads a model directory written by [`save_model`] onto `device` (or the model of a run
/// directory, see [`model_dir`]): rebuilds the architecture, loads the weights and, when it
/// was compiled, recompiles it with its optimizer state. A `.keras` file is read as a Keras 3
/// archive ([`keras_archive::load_keras_model`]).
pub fn load_model(dir: &Path, device: Device) -> Result<Box<dyn Model>> {
    if keras_archive::is_keras_archive(dir) && dir.is_file() {
        return keras_archive::load_keras_model(dir, device);
    }
    let dir = &model_dir(dir).unwrap_or_else(|| dir.to_path_buf());
    let arch_path = dir.join(ARCHITECTURE_FILE);
    if !arch_path.exists() {
        return Err(Error::file(
            dir,
            format!("not a model directory: {ARCHITECTURE_FILE} is missing"),
        ));
    }
    let bytes = convkit_tensor::files::read_regular_file(&arch_path, MAX_ARCHITECTURE_BYTES)?;
    let json: Value = serde_json::from_slice(&bytes)
        .map_err(|e| Error::file(&arch_path, format!("invalid JSON: {e}")))?;
    let arch = json
        .get("architecture")
        .ok_or_else(|| Error::file(&arch_path, "no `architecture` entry"))?;
    let mut model = crate::models::model_from_architecture(arch, device)
        .map_err(|e| Error::file(&arch_path, e))?;
    load_weights(model.as_mut(), &dir.join(WEIGHTS_FILE))?;
    if let Some(c) = json.get("compile").filter(|c| !c.is_null()) {
        let bad = |what: &str, e: String| Error::file(&arch_path, format!("compile.{what}: {e}"));
        let optimizer = convkit_optim::from_config(c.get("optimizer").unwrap_or(&Value::Null))
            .map_err(|e| bad("optimizer", e.to_string()))?;
        let field = |name: &str, default: Value| c.get(name).cloned().unwrap_or(default);
        if let Some(losses) = c.get("loss").and_then(Value::as_array) {
            let losses: Vec<Loss> = serde_json::from_value(Value::Array(losses.clone()))
                .map_err(|e| bad("loss", e.to_string()))?;
            let weights: Vec<f64> =
                serde_json::from_value(field("loss_weights", json!(vec![1.0; losses.len()])))
                    .map_err(|e| bad("loss_weights", e.to_string()))?;
            let metrics: Vec<Vec<Metric>> =
                serde_json::from_value(field("metrics", json!(vec![json!([]); losses.len()])))
                    .map_err(|e| bad("metrics", e.to_string()))?;
            if weights.len() != losses.len() || metrics.len() != losses.len() {
                return Err(bad(
                    "loss_weights",
                    format!(
                        "{} losses but {} weights and {} metric lists",
                        losses.len(),
                        weights.len(),
                        metrics.len()
                    ),
                ));
            }
            let outputs = losses
                .into_iter()
                .zip(weights)
                .zip(metrics)
                .map(|((l, w), m)| OutputLoss::new(l).weight(w).metrics(&m))
                .collect();
            compile_outputs(model.as_mut(), optimizer, outputs)?;
        } else {
            let loss: Loss = serde_json::from_value(field("loss", Value::Null))
                .map_err(|e| bad("loss", e.to_string()))?;
            let metrics: Vec<Metric> = serde_json::from_value(field("metrics", json!([])))
                .map_err(|e| bad("metrics", e.to_string()))?;
            compile(model.as_mut(), optimizer, loss, &metrics)?;
        }
        let opt_path = dir.join(OPTIMIZER_FILE);
        if opt_path.exists() {
            let compiled = model
                .compiled_mut()
                .ok_or_else(|| Error::file(dir, "compile failed"))?;
            let r = convkit_optim::load_state(
                compiled.optimizer.as_mut(),
                &compiled.trainable,
                &opt_path,
            );
            r.map_err(|e| Error::file(&opt_path, e))?;
        }
    }
    Ok(model)
}
