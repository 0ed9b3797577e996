//! Keras 3 weights saved by name (`weight.path` -> tensor, Keras layouts) in a safetensors
//! file, onto a convkit model with the same layer names (Xception, VGG16, the book's models).

use std::path::Path;

use super::{assign, read_tensors, ImportReport, Layout};
use crate::models::model::Model;
use crate::Result;

/// Loads Keras-named weights. Kernels are converted by the class of the layer that owns
/// them (`Conv2D`/`Conv2DTranspose`/pointwise kernels from `(kh, kw, in, out)`, depthwise
/// kernels from `(kh, kw, in, m)`, `Dense` kernels as they are).
///
/// Dense layers right after a `Flatten` of a 4-D tensor would need their rows permuted
/// (Keras flattens NHWC, convkit NCHW); such models are refused by the shape check only when
/// sizes differ, so import those through a pooling head or convert the rows yourself.
pub fn load_keras_weights(model: &mut dyn Model, path: &Path) -> Result<ImportReport> {
    let tensors = read_tensors(path)?;
    assign_keras_tensors(model, path, tensors)
}

/// [`load_keras_weights`] on tensors already in memory (`origin` names them in errors).
pub fn assign_keras_tensors(
    model: &mut dyn Model,
    origin: &Path,
    tensors: Vec<(String, convkit_tensor::tch::Tensor)>,
) -> Result<ImportReport> {
    let classes: std::collections::HashMap<String, &'static str> = model
        .layers()
        .iter()
        .map(|l| (l.name().to_string(), l.class_name()))
        .collect();
    assign(model, origin, tensors, |name| {
        let (layer_path, param) = name.rsplit_once('/')?;
        let top = layer_path.split('/').next().unwrap_or(layer_path);
        let class = classes
            .get(layer_path)
            .or_else(|| classes.get(top))
            .copied();
        let layout = match (class, param) {
            (Some("DepthwiseConv2D"), "kernel") | (_, "depthwise_kernel") => Layout::KerasDepthwise,
            (Some("Conv2D" | "Conv2DTranspose"), "kernel") | (_, "pointwise_kernel") => {
                Layout::KerasConv
            }
            _ => Layout::Same,
        };
        Some((name.to_string(), layout))
    })
}
