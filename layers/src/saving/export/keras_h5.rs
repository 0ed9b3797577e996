//! A convkit model's weights as a legacy Keras HDF5 weights file, the layout of the files
//! `keras.applications` downloads and of Keras' `model.save_weights("x.h5")`: the reverse of
//! [`crate::saving::import::keras_h5`]. Keras 3 reads it with `model.load_weights("x.h5")`.
//!
//! # Layout
//! (`keras/src/legacy/saving/legacy_h5_format.py`, `save_weights_to_hdf5_group`.) Root
//! attributes `layer_names` (every layer, in order), `backend` and `keras_version`; one group
//! per layer whose `weight_names` attribute lists its weights (`conv2d/kernel`; a nested
//! model's `sequential/conv2d/kernel`) in Keras' order — trainable ones first, then the
//! others (`moving_mean`, `moving_variance`, a frozen layer's) — each a float32 dataset at
//! `<layer>/<weight name>` in Keras' channels-last layout.

use std::collections::BTreeMap;
use std::path::Path;

use convkit_tensor::tch::{Device, Kind, Tensor};
use hdf5_pure::{AttrValue, FileBuilder, GroupBuilder};

use crate::layers::layer::Layer;
use crate::models::model::Model;
use crate::saving::import::keras_layout::KerasLayouts;
use crate::{Error, Result};

/// What `keras_version` the written file names (the format of Keras 2's `save_weights`,
/// which Keras 3 still reads).
const KERAS_VERSION: &str = "2.15.0";

/// A group to write: sub-groups by name and float32 datasets.
#[derive(Default)]
struct Tree {
    groups: BTreeMap<String, Tree>,
    datasets: Vec<(String, Vec<u64>, Vec<f32>)>,
    attrs: Vec<(String, AttrValue)>,
}

impl Tree {
    /// Puts a dataset at the `/`-separated `path` below this group.
    fn put(&mut self, path: &str, shape: Vec<u64>, values: Vec<f32>) {
        match path.split_once('/') {
            Some((group, rest)) => self
                .groups
                .entry(group.to_string())
                .or_default()
                .put(rest, shape, values),
            None => self.datasets.push((path.to_string(), shape, values)),
        }
    }

    /// Writes this tree's contents into `group`.
    fn fill(self, group: &mut GroupBuilder) {
        for (name, value) in self.attrs {
            group.set_attr(&name, value);
        }
        for (name, shape, values) in self.datasets {
            group
                .create_dataset(&name)
                .with_f32_data(&values)
                .with_shape(&shape);
        }
        for (name, sub) in self.groups {
            let mut child = group.create_group(&name);
            sub.fill(&mut child);
            group.add_group(child.finish());
        }
    }
}

/// The weights of `layer` as Keras orders them (`(name relative to the layer, tensor,
/// trainable)`): a nested model's from every layer inside, names prefixed.
fn layer_weights(
    layer: &dyn Layer,
    trainable: bool,
    prefix: &str,
    out: &mut Vec<(String, Tensor, bool)>,
) {
    let trainable = trainable && layer.trainable();
    if let Some(inner) = layer.as_model() {
        for sub in inner.layers() {
            layer_weights(sub, trainable, &format!("{prefix}{}/", sub.name()), out);
        }
        return;
    }
    for (name, p) in layer.named_params() {
        out.push((
            format!("{prefix}{name}"),
            p.tensor.shallow_clone(),
            trainable && p.trainable,
        ));
    }
}

/// Writes `model`'s weights as a legacy Keras HDF5 file at `path` (through a temporary file
/// and a rename).
///
/// # Example
/// ```no_run
/// use convkit_layers::saving::export::save_keras_h5;
/// let model = convkit_layers::applications::mnist_convnet(convkit_tensor::tch::Device::Cpu)?;
/// save_keras_h5(&model, "mnist.weights.h5".as_ref())?;
/// # Ok::<(), convkit_layers::Error>(())
/// ```
pub fn save_keras_h5(model: &dyn Model, path: &Path) -> Result<()> {
    let layouts = KerasLayouts::of(model);
    let mut root = Tree::default();
    let names: Vec<String> = model
        .layers()
        .iter()
        .map(|l| l.name().to_string())
        .collect();
    for layer in model.layers() {
        let mut weights = Vec::new();
        layer_weights(layer, true, "", &mut weights);
        // Keras' `trainable_weights + non_trainable_weights`, each in layer order.
        weights.sort_by_key(|(_, _, trainable)| !*trainable);
        let mut group = Tree::default();
        let mut weight_names = Vec::with_capacity(weights.len());
        for (name, tensor, _) in weights {
            let stored = format!("{}/{name}", layer.name());
            let t = layouts
                .to_keras(&format!("{}/{name}", layer.name()), &tensor)?
                .f_detach()?
                .f_to_device(Device::Cpu)?
                .f_to_kind(Kind::Float)?
                .f_contiguous()?;
            let shape = t.size().iter().map(|&d| d as u64).collect();
            group.put(&stored, shape, Vec::<f32>::try_from(t.f_reshape([-1])?)?);
            weight_names.push(stored);
        }
        group.attrs.push((
            "weight_names".into(),
            AttrValue::AsciiStringArray(weight_names),
        ));
        root.groups.insert(layer.name().to_string(), group);
    }
    let mut file = FileBuilder::new();
    file.set_attr("layer_names", AttrValue::AsciiStringArray(names));
    file.set_attr("backend", AttrValue::AsciiString("tensorflow".into()));
    file.set_attr(
        "keras_version",
        AttrValue::AsciiString(KERAS_VERSION.into()),
    );
    for (name, tree) in root.groups {
        let mut group = file.create_group(&name);
        tree.fill(&mut group);
        file.add_group(group.finish());
    }
    let bytes = file
        .finish()
        .map_err(|e| Error::file(path, format!("cannot write the HDF5 file: {e}")))?;
    convkit_tensor::atomic::write_bytes_atomic(path, &bytes)?;
    tracing::info!(file = %path.display(), layers = model.layers().len(), "wrote Keras HDF5 weights");
    Ok(())
}
