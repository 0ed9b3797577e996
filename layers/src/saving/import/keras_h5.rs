//! Keras' legacy HDF5 weights: the files `keras.applications.*(weights="imagenet")`
//! downloads (`vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5`...) and what Keras 2's
//! `model.save_weights("x.h5")` writes (and Keras 3's `legacy_h5_format`).
//!
//! # Layout
//! The root (or its `model_weights` group, in a whole-model `.h5`) has the attribute
//! `layer_names`; each layer's group has `weight_names` (`block1_conv1/kernel:0`, or Keras
//! 1's `block1_conv1_W_1:0`) naming its datasets in the layer's weight order. Layers are
//! matched by name, as Keras' `load_weights(by_name=True)`; inside a layer a weight is matched
//! by name when the file's name is one of the layer's (`kernel`, `gamma`...), else by
//! position (Keras' own order, which convkit's layers keep). Kernels are converted from
//! Keras' channels-last layouts ([`KerasLayouts`]).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use convkit_tensor::tch::Tensor;

use super::keras_layout::KerasLayouts;
use super::{assign, ImportReport};
use crate::models::model::Model;
use crate::saving::h5::H5Reader;
use crate::{Error, Result};

/// The weights of one layer in the file: `(weight name, dataset path)` in order.
type FileLayer = Vec<(String, String)>;

/// Loads a legacy Keras HDF5 weights file into `model`, matching layers by name; every
/// mismatch (a layer missing from the file, a different number of weights, a shape that
/// does not fit) is reported at once, and nothing is copied unless everything fits.
pub fn load_keras_h5(model: &mut dyn Model, path: &Path) -> Result<ImportReport> {
    load_keras_h5_from(model, &H5Reader::open(path)?)
}

/// [`load_keras_h5`] from an opened file (one held in memory: [`H5Reader::from_bytes`]).
pub fn load_keras_h5_from(model: &mut dyn Model, h5: &H5Reader) -> Result<ImportReport> {
    let path = h5.path();
    let layers = file_layers(h5)?;
    let layouts = KerasLayouts::of(model);
    let mut problems = Vec::new();
    let mut source: Vec<(String, Tensor)> = Vec::new();
    let mut source_of: HashMap<String, String> = HashMap::new();
    let mut matched = HashSet::new();
    for layer in model.layers() {
        let params: Vec<String> = layer.named_params().into_iter().map(|(n, _)| n).collect();
        if params.is_empty() {
            continue;
        }
        let name = layer.name();
        let Some(stored) = layers.get(name) else {
            problems.push(format!(
                "layer '{name}' ({}) has {} weight(s); the file has no weights for a layer of \
                 that name",
                layer.class_name(),
                params.len()
            ));
            continue;
        };
        matched.insert(name.to_string());
        if stored.len() != params.len() {
            problems.push(format!(
                "layer '{name}' ({}) has {} weight(s) ({}), the file has {} ({})",
                layer.class_name(),
                params.len(),
                params.join(", "),
                stored.len(),
                stored
                    .iter()
                    .map(|(w, _)| w.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            continue;
        }
        for (i, (weight, dataset)) in stored.iter().enumerate() {
            let short = short_name(weight, name);
            let target = params.iter().find(|p| **p == short).unwrap_or(&params[i]);
            match h5.tensor(dataset) {
                Ok(t) => {
                    source_of.insert(format!("{name}/{target}"), dataset.clone());
                    source.push((dataset.clone(), t));
                }
                Err(e) => problems.push(e.to_string()),
            }
        }
    }
    if !problems.is_empty() {
        return Err(Error::Import {
            path: path.to_path_buf(),
            problems,
        });
    }
    let mut report = assign(model, path, source, |name| {
        Some((source_of.get(name)?.clone(), layouts.layout(name)))
    })?;
    let mut unmatched: Vec<String> = layers
        .into_keys()
        .filter(|l| !matched.contains(l))
        .collect();
    unmatched.sort();
    report.unused.extend(unmatched);
    Ok(report)
}

/// The layers of the file that have weights, by name.
fn file_layers(h5: &H5Reader) -> Result<HashMap<String, FileLayer>> {
    let root = if h5.strings_attr("", "layer_names")?.is_some() {
        ""
    } else if h5.has_group("model_weights") {
        "model_weights"
    } else {
        let hint = if h5.has_group("layers") {
            " (it has a layers/ group: a Keras 3 .weights.h5)"
        } else {
            ""
        };
        return Err(Error::file(
            h5.path(),
            format!("no 'layer_names' attribute: not a Keras HDF5 weights file{hint}"),
        ));
    };
    let names = h5
        .strings_attr(root, "layer_names")?
        .ok_or_else(|| Error::file(h5.path(), format!("{root}: no 'layer_names' attribute")))?;
    let mut layers = HashMap::new();
    for layer in names {
        let group = join(root, &layer);
        let weights = h5.strings_attr(&group, "weight_names")?.ok_or_else(|| {
            Error::file(
                h5.path(),
                format!("layer '{layer}' is listed in layer_names but has no weight_names"),
            )
        })?;
        if weights.is_empty() {
            continue;
        }
        let stored = weights
            .into_iter()
            .map(|w| {
                let dataset = join(&group, &w);
                (w, dataset)
            })
            .collect();
        layers.insert(layer, stored);
    }
    Ok(layers)
}

fn join(group: &str, name: &str) -> String {
    if group.is_empty() {
        name.to_string()
    } else {
        format!("{group}/{name}")
    }
}

/// A file's weight name inside its layer: `block1_conv1/kernel:0` -> `kernel` for layer
/// `block1_conv1`; a nested model's `block1_conv1/kernel:0` stays `block1_conv1/kernel`.
fn short_name<'a>(weight: &'a str, layer: &str) -> &'a str {
    let w = match weight.rsplit_once(':') {
        Some((w, n)) if n.chars().all(|c| c.is_ascii_digit()) => w,
        _ => weight,
    };
    w.strip_prefix(layer)
        .and_then(|r| r.strip_prefix('/'))
        .unwrap_or(w)
}

#[cfg(test)]
mod tests {
    use super::short_name;

    #[test]
    fn weight_names_lose_their_layer_and_index() {
        assert_eq!(
            short_name("block1_conv1/kernel:0", "block1_conv1"),
            "kernel"
        );
        assert_eq!(
            short_name("block1_conv1_W_1:0", "block1_conv1"),
            "block1_conv1_W_1"
        );
        assert_eq!(
            short_name("block1_conv1/kernel:0", "vgg16"),
            "block1_conv1/kernel"
        );
        assert_eq!(
            short_name("sequential/conv/kernel", "conv"),
            "sequential/conv/kernel"
        );
    }
}
