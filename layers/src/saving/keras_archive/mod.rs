//! Keras 3's own model files: `.keras` archives (a zip of `config.json`, `metadata.json` and
//! `model.weights.h5`) and `.weights.h5` weights, read into convkit models and written from
//! them ([`save_keras_model`]: Keras 3 loads the archive and predicts as convkit does).
//!
//! The architecture is rebuilt from Keras' configuration through the layer catalogue
//! ([`config_import`]), the weights are converted from Keras' channels-last layouts
//! ([`weights_h5`]), and a compiled model gets its optimizer, loss, loss weights, metrics and
//! optimizer state back ([`compile_import`]), so `fit` continues from where Keras stopped.
//! Code-carrying layers (`Lambda`) are refused; nothing in a file is executed.
//!
//! # Example
//! ```no_run
//! use convkit_layers::saving::keras_archive::load_keras_model;
//! let model = load_keras_model("mnist.keras".as_ref(), convkit_tensor::tch::Device::Cpu)?;
//! # Ok::<(), convkit_layers::Error>(())
//! ```

pub mod compile_export;
pub mod compile_import;
pub mod config_export;
pub mod config_import;
pub mod layer_args;
pub mod layer_export;
pub mod weights_export;
pub mod weights_h5;

use std::io::{Read, Write};
use std::path::Path;

use convkit_tensor::tch::Device;
use serde_json::{json, Value};

pub use weights_export::save_keras_weights_h5;
pub use weights_h5::{load_keras_weights_h5, load_weights_h5};

use crate::models::model::Model;
use crate::saving::h5::H5Reader;
use crate::{Error, Result};

/// The architecture file of a `.keras` archive.
pub const CONFIG_ENTRY: &str = "config.json";
/// The metadata file of a `.keras` archive (`keras_version`, `date_saved`).
pub const METADATA_ENTRY: &str = "metadata.json";
/// The weights file of a `.keras` archive.
pub const WEIGHTS_ENTRY: &str = "model.weights.h5";

/// The `keras_version` a written archive's `metadata.json` gives: the Keras release whose
/// format convkit writes, and that its tests load the written archives with.
pub const KERAS_FORMAT_VERSION: &str = "3.15.1";

/// Largest `config.json` read (64 MiB).
const MAX_CONFIG_BYTES: u64 = 64 << 20;

/// What a `.keras` archive holds.
#[derive(Debug)]
pub struct KerasArchive {
    /// `config.json`: the model's class, configuration and compile configuration.
    pub config: Value,
    /// `metadata.json` (`{}` when absent).
    pub metadata: Value,
    /// `model.weights.h5`, as stored.
    pub weights: Vec<u8>,
}

/// Whether `path` names a `.keras` archive (by its extension).
pub fn is_keras_archive(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("keras"))
}

/// Reads a `.keras` archive; a file that is not a zip, lacks an entry or holds invalid JSON
/// is an error naming the file and the entry.
pub fn read_archive(path: &Path) -> Result<KerasArchive> {
    std::fs::metadata(path).map_err(|e| Error::file(path, format!("cannot open: {e}")))?;
    let bytes = convkit_tensor::files::read_regular_file(path, u64::MAX)?;
    archive_from_bytes(bytes, path)
}

/// [`read_archive`] of an archive held in memory; `path` names it in errors.
pub fn archive_from_bytes(bytes: Vec<u8>, path: &Path) -> Result<KerasArchive> {
    let archive_size = bytes.len();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| {
        Error::file(
            path,
            format!("not a .keras archive (a zip file; truncated or corrupt? {archive_size} bytes): {e}"),
        )
    })?;
    let mut entry = |name: &str, limit: u64| -> Result<Option<Vec<u8>>> {
        let mut file = match zip.by_name(name) {
            Ok(f) => f,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(e) => return Err(Error::file(path, format!("{name}: unreadable entry: {e}"))),
        };
        let size = file.size();
        if size > limit {
            return Err(Error::file(
                path,
                format!("{name}: {size} bytes, more than the {limit} allowed"),
            ));
        }
        convkit_tensor::memory::check_allocation(
            &format!("{}: {name}", path.display()),
            &[size as i64],
            1,
        )?;
        let mut out = Vec::with_capacity(size as usize);
        (&mut file)
            .take(size + 1)
            .read_to_end(&mut out)
            .map_err(|e| Error::file(path, format!("{name}: corrupt entry: {e}")))?;
        if out.len() as u64 != size {
            return Err(Error::file(
                path,
                format!("{name}: holds {} bytes, its header says {size}", out.len()),
            ));
        }
        Ok(Some(out))
    };
    let json = |name: &str, bytes: &[u8]| -> Result<Value> {
        serde_json::from_slice(bytes)
            .map_err(|e| Error::file(path, format!("{name}: invalid JSON: {e}")))
    };
    let missing = |name: &str| Error::file(path, format!("not a .keras archive: it has no {name}"));
    let config = entry(CONFIG_ENTRY, MAX_CONFIG_BYTES)?.ok_or_else(|| missing(CONFIG_ENTRY))?;
    let config = json(CONFIG_ENTRY, &config)?;
    let metadata = match entry(METADATA_ENTRY, MAX_CONFIG_BYTES)? {
        Some(b) => json(METADATA_ENTRY, &b)?,
        None => Value::Object(Default::default()),
    };
    let weights = entry(WEIGHTS_ENTRY, u64::MAX)?.ok_or_else(|| missing(WEIGHTS_ENTRY))?;
    Ok(KerasArchive {
        config,
        metadata,
        weights,
    })
}

/// Loads a `.keras` archive written by Keras 3 onto `device`: the architecture (checked
/// before any weight is read), the weights and, when the model was compiled, its compile
/// configuration and optimizer state.
pub fn load_keras_model(path: &Path, device: Device) -> Result<Box<dyn Model>> {
    model_from_archive(read_archive(path)?, path, device)
}

/// The model of an archive already read ([`read_archive`], [`archive_from_bytes`]); `path`
/// names it in errors.
pub fn model_from_archive(
    archive: KerasArchive,
    path: &Path,
    device: Device,
) -> Result<Box<dyn Model>> {
    let in_file = |e: Error| Error::file(path, e);
    let arch = config_import::architecture(&archive.config).map_err(in_file)?;
    let mut model = crate::models::model_from_architecture(&arch, device).map_err(in_file)?;
    let weights = H5Reader::from_bytes(archive.weights, &path.join(WEIGHTS_ENTRY))?;
    load_weights_h5(model.as_mut(), &weights)?;
    // An uncompiled model's `compile_config` is `{}` (or absent, or null).
    if let Some(compile) = archive
        .config
        .get("compile_config")
        .filter(|c| c.as_object().is_some_and(|o| !o.is_empty()))
    {
        let outputs = output_names(&archive.config);
        compile_import::apply_compile_config(model.as_mut(), path, compile, &outputs)?;
        compile_import::restore_optimizer(model.as_mut(), &weights, compile)?;
    }
    let version = archive
        .metadata
        .get("keras_version")
        .and_then(Value::as_str);
    tracing::info!(file = %path.display(), keras = version.unwrap_or("?"), "loaded a Keras model");
    Ok(model)
}

/// What [`save_keras_model_with_info`] kept in the archive at `path`; `None` for an archive
/// written without it (by Keras, say).
pub fn load_keras_model_info(path: &Path) -> Result<Option<Value>> {
    Ok(read_archive(path)?
        .metadata
        .get(INFO_METADATA_KEY)
        .filter(|v| !v.is_null())
        .cloned())
}

/// The names of the layers that produce a Keras model's outputs, in order.
fn output_names(config: &Value) -> Vec<String> {
    let ends = config
        .pointer("/config/output_layers")
        .cloned()
        .unwrap_or(Value::Null);
    let one = |v: &Value| v.get(0).and_then(Value::as_str).map(str::to_string);
    match one(&ends) {
        Some(n) => vec![n],
        None => ends
            .as_array()
            .map(|a| a.iter().filter_map(one).collect())
            .unwrap_or_default(),
    }
}

/// Writes `model` as a Keras 3 `.keras` archive at `path` (through a temporary file and a
/// rename): its configuration, its weights in Keras' layouts and, when it is compiled, its
/// compile configuration and optimizer state, so `keras.models.load_model(path)` predicts as
/// convkit does and `fit` continues.
///
/// # Example
/// ```no_run
/// # use convkit_layers::prelude::*;
/// use convkit_layers::saving::keras_archive::save_keras_model;
/// let model = convkit_layers::applications::mnist_convnet(convkit_tensor::tch::Device::Cpu)?;
/// save_keras_model(&model, "mnist.keras".as_ref())?;
/// # Ok::<(), convkit_layers::Error>(())
/// ```
pub fn save_keras_model(model: &dyn Model, path: &Path) -> Result<()> {
    save_keras_model_with_info(model, path, None)
}

/// The key of `metadata.json` that holds what [`save_keras_model_with_info`] was given
/// (Keras does not read `metadata.json`, so Keras loads the archive as any other).
pub const INFO_METADATA_KEY: &str = "convkit_info";

/// [`save_keras_model`], with `info` (a classifier's class names and preprocessing, opaque
/// here) kept in `metadata.json`; [`load_keras_model_info`] reads it back.
pub fn save_keras_model_with_info(
    model: &dyn Model,
    path: &Path,
    info: Option<&Value>,
) -> Result<()> {
    let in_file = |e: Error| Error::file(path, e);
    let mut config = config_export::keras_model_entry(model).map_err(in_file)?;
    if let Some(compile) = compile_export::keras_compile_config(model).map_err(in_file)? {
        config["compile_config"] = compile;
    }
    let metadata = json!({
        "keras_version": KERAS_FORMAT_VERSION,
        "producer": format!("convkit {}", env!("CARGO_PKG_VERSION")),
    });
    let mut metadata = metadata;
    if let Some(info) = info {
        metadata[INFO_METADATA_KEY] = info.clone();
    }
    let weights = weights_export::keras_weights_h5(model, true).map_err(in_file)?;
    let zipped = (|| -> std::result::Result<Vec<u8>, Box<dyn std::error::Error>> {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let deflated = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let stored = deflated.compression_method(zip::CompressionMethod::Stored);
        for (name, bytes, options) in [
            (METADATA_ENTRY, serde_json::to_vec(&metadata)?, deflated),
            (CONFIG_ENTRY, serde_json::to_vec(&config)?, deflated),
            (WEIGHTS_ENTRY, weights, stored.large_file(true)),
        ] {
            zip.start_file(name, options)?;
            zip.write_all(&bytes)?;
        }
        Ok(zip.finish()?.into_inner())
    })()
    .map_err(|e| Error::file(path, format!("cannot make the archive: {e}")))?;
    convkit_tensor::atomic::write_bytes_atomic(path, &zipped)?;
    tracing::info!(file = %path.display(), "wrote a Keras model");
    Ok(())
}
