//! Saving and loading models: `model.json` (architecture and compile settings),
//! `model.safetensors` (weights with Keras-style names such as `conv2d/kernel`) and, for
//! compiled models, `optimizer.safetensors` (optimizer state, so training can resume).
//!
//! Every file is written through a temporary file and a rename, so a crash never leaves a
//! half-written file.

pub mod fingerprint;
pub mod import;

use std::path::{Path, PathBuf};

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

/// Saves the architecture, weights and (when compiled) optimizer state into directory `dir`
/// (created if needed; other files in it are left alone). Each file is written through a
/// temporary file and a rename; the architecture goes last, so a directory with a
/// `model.json` always has the weights that belong to it or newer ones.
pub fn save_model(model: &dyn Model, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::file(dir, e))?;
    save_weights(model, &dir.join(WEIGHTS_FILE))?;
    if let Some(c) = model.compiled() {
        convkit_optim::save_state(c.optimizer.as_ref(), &dir.join(OPTIMIZER_FILE))?;
    }
    let json = serde_json::to_vec_pretty(&model_json(model)).map_err(|e| Error::file(dir, e))?;
    Ok(convkit_tensor::atomic::write_bytes_atomic(
        &dir.join(ARCHITECTURE_FILE),
        &json,
    )?)
}

/// Moves directory `from` to `to`, replacing `to` if it exists (the old copy is removed only
/// once the new one is in place).
pub fn replace_dir(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::file(parent, e))?;
    }
    let old = sibling(to, "old");
    let had_old = to.exists();
    if had_old {
        let _ = std::fs::remove_dir_all(&old);
        std::fs::rename(to, &old).map_err(|e| Error::file(to, e))?;
    }
    std::fs::rename(from, to).map_err(|e| Error::file(to, e))?;
    if had_old {
        let _ = std::fs::remove_dir_all(&old);
    }
    Ok(())
}

fn sibling(dir: &Path, what: &str) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    dir.with_file_name(format!(".{name}.{what}-{}", std::process::id()))
}

/// Loads a model directory written by [`save_model`] onto `device`: rebuilds the
/// architecture, loads the weights and, when it was compiled, recompiles it with its optimizer
/// state.
pub fn load_model(dir: &Path, device: Device) -> Result<Box<dyn Model>> {
    let arch_path = dir.join(ARCHITECTURE_FILE);
    if !arch_path.exists() {
        return Err(Error::file(
            dir,
            format!("not a model directory: {ARCHITECTURE_FILE} is missing"),
        ));
    }
    let bytes = std::fs::read(&arch_path).map_err(|e| Error::file(&arch_path, e))?;
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
