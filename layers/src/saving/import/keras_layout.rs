//! Which layout conversion each Keras weight needs to become convkit's: found from the class
//! of the layer that owns it (nested models included) and, for a `Dense` kernel, from whether
//! the layer is fed by a `Flatten` of an image tensor (Keras flattens `(H, W, C)`, convkit
//! `(C, H, W)`, so the kernel's rows are permuted). [`KerasLayouts::to_keras`] is the
//! reverse, for writing Keras files.

use std::collections::HashMap;

use convkit_tensor::tch::Tensor;

use super::Layout;
use crate::models::model::Model;
use crate::Result;

/// Classes that pass a flat vector through unchanged in layout, between a `Flatten` and the
/// `Dense` it feeds (the book's `Flatten -> Dropout(0.5) -> Dense`).
const ELEMENTWISE: [&str; 5] = [
    "Dropout",
    "Activation",
    "ReLU",
    "LeakyReLU",
    "GaussianNoise",
];

/// Layout conversions by weight name (`block1_conv1/kernel`, `vgg16/fc1/kernel`).
#[derive(Debug, Default)]
pub struct KerasLayouts {
    classes: HashMap<String, &'static str>,
    flattened: HashMap<String, [i64; 3]>,
    /// `depth_multiplier` of the depthwise and separable convolutions.
    multipliers: HashMap<String, i64>,
}

impl KerasLayouts {
    /// The layouts of `model`'s weights (walks nested models).
    pub fn of(model: &dyn Model) -> KerasLayouts {
        let mut layouts = KerasLayouts::default();
        layouts.walk(model, "");
        layouts
    }

    fn walk(&mut self, model: &dyn Model, prefix: &str) {
        let layers = model.layers();
        let index: HashMap<&str, usize> = layers
            .iter()
            .enumerate()
            .map(|(i, l)| (l.name(), i))
            .collect();
        let connections = model.connections();
        // The one layer feeding layer `i`, if there is exactly one.
        let feeder = |i: usize| -> Option<usize> {
            match &connections {
                Some(c) => match c.get(i).map(Vec::as_slice) {
                    Some([one]) => index.get(one.split('[').next()?).copied(),
                    _ => None,
                },
                None => i.checked_sub(1),
            }
        };
        for (i, layer) in layers.iter().enumerate() {
            let name = format!("{prefix}{}", layer.name());
            self.classes.insert(name.clone(), layer.class_name());
            if let Some(inner) = layer.as_model() {
                self.walk(inner, &format!("{name}/"));
            }
            if let Some(m) = layer.config().config["depth_multiplier"].as_i64() {
                self.multipliers.insert(name.clone(), m);
            }
            if layer.class_name() != "Dense" {
                continue;
            }
            let mut from = feeder(i);
            while let Some(j) = from {
                if !ELEMENTWISE.contains(&layers[j].class_name()) {
                    break;
                }
                from = feeder(j);
            }
            if let Some(j) = from {
                if layers[j].class_name() == "Flatten" {
                    if let Some(&[c, h, w]) = layers[j].built_input_shape() {
                        if h * w > 1 {
                            self.flattened.insert(name, [c, h, w]);
                        }
                    }
                }
            }
        }
    }

    /// The conversion of weight `name` (`<layer path>/<weight>`) from Keras' layout.
    pub fn layout(&self, name: &str) -> Layout {
        let Some((layer, param)) = name.rsplit_once('/') else {
            return Layout::Same;
        };
        match (self.classes.get(layer).copied(), param) {
            (Some("DepthwiseConv2D"), "kernel") | (_, "depthwise_kernel") => Layout::KerasDepthwise,
            (Some("Conv2D" | "Conv2DTranspose"), "kernel") | (_, "pointwise_kernel") => {
                Layout::KerasConv
            }
            (Some("Dense"), "kernel") => match self.flattened.get(layer) {
                Some(&[channels, height, width]) => Layout::KerasFlattenedDense {
                    channels,
                    height,
                    width,
                },
                None => Layout::Same,
            },
            _ => Layout::Same,
        }
    }

    /// Weight `name` (`<layer path>/<weight>`) converted from convkit's layout to Keras' (the
    /// inverse of [`Self::layout`]).
    pub fn to_keras(&self, name: &str, t: &Tensor) -> Result<Tensor> {
        let s = t.size();
        Ok(match self.layout(name) {
            Layout::Same => t.shallow_clone(),
            Layout::Transpose => t.f_tr()?.f_contiguous()?,
            Layout::KerasConv => t.f_permute([2, 3, 1, 0])?.f_contiguous()?,
            Layout::KerasDepthwise if s.len() == 4 => {
                let layer = name.rsplit_once('/').map_or(name, |(l, _)| l);
                let m = self.multipliers.get(layer).copied().unwrap_or(1).max(1);
                t.f_reshape([s[0] / m, m, s[2], s[3]])?
                    .f_permute([2, 3, 0, 1])?
                    .f_contiguous()?
            }
            Layout::KerasDepthwise => t.shallow_clone(),
            Layout::KerasFlattenedDense {
                channels,
                height,
                width,
            } if s.len() == 2 && s[0] == channels * height * width => t
                .f_reshape([channels, height, width, s[1]])?
                .f_permute([1, 2, 0, 3])?
                .f_contiguous()?
                .f_reshape([s[0], s[1]])?,
            Layout::KerasFlattenedDense { .. } => t.shallow_clone(),
        })
    }
}
