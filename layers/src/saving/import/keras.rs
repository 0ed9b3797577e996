//! Keras 3 weights saved by name (`weight.path` -> tensor, Keras layouts) in a safetensors
//! file, onto a convkit model with the same layer names (Xception, VGG16, the book's models).

use std::path::Path;

use super::keras_layout::KerasLayouts;
use super::{assign, read_tensors, ImportReport};
use crate::models::model::Model;
use crate::Result;

/// Loads Keras-named weights. Kernels are converted by the class of the layer that owns
/// them (`Conv2D`/`Conv2DTranspose`/pointwise kernels from `(kh, kw, in, out)`, depthwise
/// kernels from `(kh, kw, in, m)`, `Dense` kernels as they are, except the rows of one fed by
/// a `Flatten` of an image tensor, permuted from Keras' `(H, W, C)` order to `(C, H, W)`).
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
    let layouts = KerasLayouts::of(model);
    assign(model, origin, tensors, |name| {
        Some((name.to_string(), layouts.layout(name)))
    })
}
