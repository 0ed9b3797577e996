//! Which layout conversion each Keras weight needs to become convkit's: found from the class
//! of the layer that owns it (nested models included) and, for a `Dense` kernel, from whether
//! the layer is fed by a `Flatten` of an image tensor (Keras flattens `(H, W, C)`, convkit
//! `(C, H, W)`, so the kernel's rows are permuted).

use std::collections::HashMap;

use super::Layout;
use crate::models::model::Model;

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
}
