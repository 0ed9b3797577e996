//! Keras 3's weights file (`model.weights.h5` in a `.keras` archive, or what
//! `model.save_weights("x.weights.h5")` writes) onto a convkit model.
//!
//! # Layout
//! Keras 3 stores a layer's variables as `layers/<key>/vars/<i>` in the layer's own order
//! (`kernel`, `bias`; BatchNormalization's `gamma`, `beta`, `moving_mean`,
//! `moving_variance`), and a nested model's under `layers/<key>/layers/...`. The key is not
//! the layer's name but its class in snake case, numbered among the layers of the same class
//! of its model (`conv2d`, `conv2d_1`, ...; `keras/src/saving/saving_lib.py`,
//! `_save_container_state`), so layers are matched by position and class. The optimizer's
//! variables are `optimizer/vars/<i>`.

use std::collections::HashMap;

use convkit_tensor::tch::Tensor;

use crate::models::model::Model;
use crate::saving::h5::H5Reader;
use crate::saving::import::keras::assign_keras_tensors;
use crate::saving::import::ImportReport;
use crate::{Error, Result};

/// Keras' `naming.to_snake_case`: `Conv2DTranspose` -> `conv2d_transpose`, `ReLU` -> `re_lu`.
pub(crate) fn to_snake_case(name: &str) -> String {
    let c: Vec<char> = name
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    // re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    let mut first = Vec::with_capacity(c.len() + 8);
    let mut i = 0;
    while i < c.len() {
        let word =
            i + 2 < c.len() && c[i + 1].is_ascii_uppercase() && c[i + 2].is_ascii_lowercase();
        if word {
            let mut j = i + 2;
            while j < c.len() && c[j].is_ascii_lowercase() {
                j += 1;
            }
            first.push(c[i]);
            first.push('_');
            first.extend_from_slice(&c[i + 1..j]);
            i = j;
        } else {
            first.push(c[i]);
            i += 1;
        }
    }
    // re.sub("([a-z])([A-Z])", r"\1_\2", name)
    let mut out = String::with_capacity(first.len() + 8);
    let mut i = 0;
    while i < first.len() {
        if i + 1 < first.len() && first[i].is_ascii_lowercase() && first[i + 1].is_ascii_uppercase()
        {
            out.push(first[i]);
            out.push('_');
            out.push(first[i + 1]);
            i += 2;
        } else {
            out.push(first[i]);
            i += 1;
        }
    }
    out.to_lowercase()
}

/// The keys Keras gives the layers of one model, in order (`conv2d`, `conv2d_1`, ...).
pub(crate) fn container_keys(model: &dyn Model) -> Vec<String> {
    let mut used: HashMap<String, usize> = HashMap::new();
    model
        .layers()
        .into_iter()
        .map(|layer| {
            let class = match layer.as_model() {
                Some(inner) => inner.class_name(),
                None => layer.class_name(),
            };
            let base = to_snake_case(class);
            match used.get_mut(&base) {
                Some(n) => {
                    *n += 1;
                    format!("{base}_{n}")
                }
                None => {
                    used.insert(base.clone(), 0);
                    base
                }
            }
        })
        .collect()
}

/// The tensors of `model`'s weights in the file, named as convkit names them
/// (`conv2d/kernel`, `sequential/conv2d/kernel`), in Keras' layouts; every missing group or
/// wrong count goes to `problems`.
fn collect(
    model: &dyn Model,
    h5: &H5Reader,
    group: &str,
    prefix: &str,
    out: &mut Vec<(String, Tensor)>,
    problems: &mut Vec<String>,
) {
    for (layer, key) in model.layers().into_iter().zip(container_keys(model)) {
        let path = format!("{group}layers/{key}");
        let name = format!("{prefix}{}", layer.name());
        if let Some(inner) = layer.as_model() {
            collect(
                inner,
                h5,
                &format!("{path}/"),
                &format!("{name}/"),
                out,
                problems,
            );
            continue;
        }
        let params: Vec<String> = layer.named_params().into_iter().map(|(n, _)| n).collect();
        if params.is_empty() {
            continue;
        }
        let vars = format!("{path}/vars");
        let stored = match h5.datasets(&vars) {
            Ok(datasets) => datasets.len(),
            Err(e) => {
                problems.push(format!(
                    "layer '{name}' ({}) has {} weight(s); {e}",
                    layer.class_name(),
                    params.len()
                ));
                continue;
            }
        };
        if stored != params.len() {
            problems.push(format!(
                "layer '{name}' ({}) has {} weight(s) ({}); the file has {stored} at {vars} \
                 (do the file's layers match this architecture?)",
                layer.class_name(),
                params.len(),
                params.join(", ")
            ));
            continue;
        }
        for (i, param) in params.iter().enumerate() {
            match h5.tensor(&format!("{vars}/{i}")) {
                Ok(t) => out.push((format!("{name}/{param}"), t)),
                Err(e) => problems.push(e.to_string()),
            }
        }
    }
}

/// Loads Keras 3 weights (`layers/<key>/vars/<i>`) from `h5` into `model`, converting
/// Keras' channels-last layouts; every mismatch is reported at once and nothing is copied
/// unless everything fits.
pub fn load_weights_h5(model: &mut dyn Model, h5: &H5Reader) -> Result<ImportReport> {
    if !h5.has_group("layers") {
        return Err(Error::file(
            h5.path(),
            "no `layers` group: not a Keras 3 weights file (a legacy Keras 2 `.h5` loads \
             with load_keras_h5)",
        ));
    }
    let mut tensors = Vec::new();
    let mut problems = Vec::new();
    collect(model, h5, "", "", &mut tensors, &mut problems);
    if !problems.is_empty() {
        return Err(Error::Import {
            path: h5.path().to_path_buf(),
            problems,
        });
    }
    assign_keras_tensors(model, h5.path(), tensors)
}

/// [`load_weights_h5`] from a Keras 3 `.weights.h5` file.
pub fn load_keras_weights_h5(
    model: &mut dyn Model,
    path: &std::path::Path,
) -> Result<ImportReport> {
    load_weights_h5(model, &H5Reader::open(path)?)
}
