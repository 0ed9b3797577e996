//! torchvision's VGG16 state dict (`torchvision.models.vgg16().state_dict()`).

use std::path::Path;

use super::{assign, read_tensors, ImportReport, Layout};
use crate::models::model::Model;
use crate::Result;

/// Indices of the convolutions in torchvision's `features` Sequential, in Keras order
/// (`block1_conv1`, `block1_conv2`, `block2_conv1`...).
const VGG16_FEATURES: [(&str, usize); 13] = [
    ("block1_conv1", 0),
    ("block1_conv2", 2),
    ("block2_conv1", 5),
    ("block2_conv2", 7),
    ("block3_conv1", 10),
    ("block3_conv2", 12),
    ("block3_conv3", 14),
    ("block4_conv1", 17),
    ("block4_conv2", 19),
    ("block4_conv3", 21),
    ("block5_conv1", 24),
    ("block5_conv2", 26),
    ("block5_conv3", 28),
];

/// torchvision's name and layout for one of our VGG16 weights (`block1_conv1/kernel` ->
/// `features.0.weight`; `fc1/kernel` -> `classifier.0.weight` transposed). Works inside a
/// nested model too (`vgg16/block1_conv1/kernel`).
pub fn vgg16_source(name: &str) -> Option<(String, Layout)> {
    let mut parts = name.rsplitn(3, '/');
    let param = parts.next()?;
    let layer = parts.next()?;
    let suffix = match param {
        "kernel" => "weight",
        "bias" => "bias",
        _ => return None,
    };
    if let Some((_, i)) = VGG16_FEATURES.iter().find(|(n, _)| *n == layer) {
        return Some((format!("features.{i}.{suffix}"), Layout::Same));
    }
    let i = match layer {
        "fc1" => 0,
        "fc2" => 3,
        "predictions" => 6,
        _ => return None,
    };
    let layout = if param == "kernel" {
        Layout::Transpose
    } else {
        Layout::Same
    };
    Some((format!("classifier.{i}.{suffix}"), layout))
}

/// Loads a torchvision `vgg16` state dict (`.pth`) into a [`crate::applications::vgg16()`]
/// model (with or without its top).
pub fn load_vgg16(model: &mut dyn Model, path: &Path) -> Result<ImportReport> {
    let tensors = read_tensors(path)?;
    assign(model, path, tensors, vgg16_source)
}
