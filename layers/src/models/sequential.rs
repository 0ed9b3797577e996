//! `Sequential`: a plain stack of layers, built as they are added.

use std::collections::HashMap;

use convkit_tensor::tch::{Device, Tensor};
use serde_json::json;

use crate::error::{batch_shape_error, shape_string};
use crate::layers::layer::LayerConfig;
use crate::layers::layer::{call_layer, Layer};
use crate::layers::registry::layer_from_config;
use crate::models::model::Model;
use crate::training::compiled::Compiled;
use crate::{Error, Result};

/// A linear stack of layers (Keras' `Sequential`).
///
/// The input shape (without batch dimension, NCHW) comes from the first layer's
/// `input_shape(...)` or from [`Sequential::with_input_shape`]; layers are then built as they
/// are added, so shape errors point at the layer being added. Unnamed layers get Keras-style
/// names unique in the model: `conv2d`, `conv2d_1`, ...
///
/// # Example
/// ```
/// use convkit_layers::prelude::*;
/// let mut model = Sequential::new();
/// model.add(Conv2D::new(32, 3).activation(Activation::Relu).input_shape([1, 28, 28])).unwrap();
/// model.add(MaxPooling2D::new(2)).unwrap();
/// model.add(Flatten::new()).unwrap();
/// model.add(Dense::new(10).activation(Activation::Softmax)).unwrap();
/// assert_eq!(model.count_params(), 54_410);
/// assert_eq!(model.layers()[0].name(), "conv2d");
/// ```
pub struct Sequential {
    name: String,
    layers: Vec<Box<dyn Layer>>,
    input_shape: Option<Vec<i64>>,
    output_shapes: Vec<Vec<i64>>,
    device: Device,
    compiled: Option<Compiled>,
}

impl std::fmt::Debug for Sequential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sequential")
            .field("name", &self.name)
            .field("layers", &self.layers)
            .finish()
    }
}

impl Default for Sequential {
    fn default() -> Self {
        Self::new()
    }
}

impl Sequential {
    /// An empty model named `sequential`, on the CPU.
    pub fn new() -> Self {
        Sequential {
            name: "sequential".into(),
            layers: Vec::new(),
            input_shape: None,
            output_shapes: Vec::new(),
            device: Device::Cpu,
            compiled: None,
        }
    }

    /// Names the model.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Sets the device on which layers added from now on are built.
    pub fn on_device(mut self, device: Device) -> Self {
        self.device = device;
        self
    }

    /// Declares the input shape (without batch dimension) before adding layers (Keras'
    /// `keras.Input(shape)` as first element).
    pub fn with_input_shape(mut self, shape: impl Into<Vec<i64>>) -> Self {
        self.input_shape = Some(shape.into());
        self
    }

    /// Adds a layer, naming it and building it when the input shape is known.
    pub fn add(&mut self, layer: impl crate::models::functional::IntoLayer) -> Result<&mut Self> {
        self.add_boxed(layer.into_layer())
    }

    /// Adds a boxed layer.
    pub fn add_boxed(&mut self, mut layer: Box<dyn Layer>) -> Result<&mut Self> {
        self.assign_name(layer.as_mut())?;
        if let Some(shape) = layer.common().input_shape.clone() {
            if self.layers.is_empty() {
                if self.input_shape.as_ref().is_some_and(|s| s != &shape) {
                    return Err(self.model_error(format!(
                        "layer '{}' declares input shape {} but the model's input shape is {}",
                        layer.name(),
                        shape_string(&shape),
                        shape_string(self.input_shape.as_deref().unwrap_or(&[]))
                    )));
                }
                self.input_shape = Some(shape);
            } else {
                tracing::warn!(
                    layer = layer.name(),
                    "input_shape is only used on the first layer of a Sequential model; ignored"
                );
            }
        }
        if let Some(input) = self.current_output_shape() {
            let out = layer.build(&input, self.device)?;
            self.output_shapes.push(out);
        }
        self.layers.push(layer);
        Ok(self)
    }

    /// Builds every layer for `input_shape` (when it was not given on the first layer).
    pub fn build(&mut self, input_shape: impl Into<Vec<i64>>) -> Result<()> {
        let input_shape = input_shape.into();
        if self.is_built() {
            if self.input_shape.as_deref() == Some(&input_shape[..]) {
                return Ok(());
            }
            return Err(self.model_error(format!(
                "already built for input shape {}",
                shape_string(self.input_shape.as_deref().unwrap_or(&[]))
            )));
        }
        let mut shape = input_shape.clone();
        let mut outs = Vec::with_capacity(self.layers.len());
        for layer in &mut self.layers {
            shape = layer.build(&shape, self.device)?;
            outs.push(shape.clone());
        }
        self.input_shape = Some(input_shape);
        self.output_shapes = outs;
        Ok(())
    }

    /// Whether every layer is built.
    pub fn is_built(&self) -> bool {
        self.input_shape.is_some() && self.output_shapes.len() == self.layers.len()
    }

    /// Rebuilds a model from its architecture JSON (weights freshly initialised).
    pub fn from_architecture(arch: &serde_json::Value, device: Device) -> Result<Self> {
        let bad = |problem: String| Error::Model {
            model: "sequential".into(),
            problem,
        };
        let config = arch
            .get("config")
            .ok_or_else(|| bad("architecture JSON has no `config`".into()))?;
        let name = config
            .get("name")
            .and_then(|n| n.as_str())
            .unwrap_or("sequential");
        let mut model = Sequential::new().named(name).on_device(device);
        if let Some(shape) = config.get("input_shape").filter(|s| !s.is_null()) {
            let shape: Vec<i64> = serde_json::from_value(shape.clone())
                .map_err(|e| bad(format!("bad input_shape: {e}")))?;
            model.input_shape = Some(shape);
        }
        let layers = config
            .get("layers")
            .and_then(|l| l.as_array())
            .ok_or_else(|| bad("architecture JSON has no `layers` list".into()))?;
        for (i, l) in layers.iter().enumerate() {
            let cfg: LayerConfig =
                serde_json::from_value(l.clone()).map_err(|e| bad(format!("layer {i}: {e}")))?;
            model.add_boxed(layer_from_config(&cfg)?)?;
        }
        Ok(model)
    }

    fn current_output_shape(&self) -> Option<Vec<i64>> {
        if !self.is_built() {
            return None;
        }
        self.output_shapes
            .last()
            .cloned()
            .or_else(|| self.input_shape.clone())
    }

    fn assign_name(&self, layer: &mut dyn Layer) -> Result<()> {
        let taken: HashMap<&str, ()> = self.layers.iter().map(|l| (l.name(), ())).collect();
        match layer.common().name.clone() {
            Some(n) => {
                if taken.contains_key(n.as_str()) {
                    return Err(self.model_error(format!(
                        "a layer named '{n}' already exists; layer names must be unique"
                    )));
                }
            }
            None => {
                let base = layer.base_name();
                let mut candidate = base.to_string();
                let mut i = 0;
                while taken.contains_key(candidate.as_str()) {
                    i += 1;
                    candidate = format!("{base}_{i}");
                }
                layer.common_mut().name = Some(candidate);
            }
        }
        Ok(())
    }

    fn model_error(&self, problem: String) -> Error {
        Error::Model {
            model: self.name.clone(),
            problem,
        }
    }
}

impl Sequential {
    /// Position of the layer called `name`, or an error listing the layers.
    fn layer_index(&self, name: &str) -> Result<usize> {
        self.layers
            .iter()
            .position(|l| l.name() == name)
            .ok_or_else(|| {
                let names: Vec<String> = self.layers.iter().map(|l| l.name().to_string()).collect();
                crate::models::model::unknown_layer(&self.name, name, &names)
            })
    }

    /// Checks that a batch fits the built input shape.
    fn check_batch(&self, x: &Tensor) -> Result<()> {
        let expected = self
            .input_shape
            .as_deref()
            .filter(|_| self.is_built())
            .ok_or_else(|| {
                self.model_error(
                    "is not built: give the first layer an input_shape(...) or call build(shape)"
                        .into(),
                )
            })?;
        let size = x.size();
        if size.len() != expected.len() + 1 || &size[1..] != expected {
            let first = &self.layers.first();
            return Err(batch_shape_error(
                first.map_or(self.name.as_str(), |l| l.name()),
                first.map_or("Sequential", |l| l.class_name()),
                expected,
                &size,
            ));
        }
        Ok(())
    }
}

impl Model for Sequential {
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &'static str {
        "Sequential"
    }
    fn layers(&self) -> Vec<&dyn Layer> {
        self.layers.iter().map(|l| l.as_ref()).collect()
    }
    fn layers_mut(&mut self) -> Vec<&mut dyn Layer> {
        self.layers
            .iter_mut()
            .map(|l| l.as_mut() as &mut dyn Layer)
            .collect()
    }
    fn input_shape(&self) -> Option<&[i64]> {
        self.input_shape.as_deref()
    }
    fn layer_output_shapes(&self) -> Vec<Vec<i64>> {
        self.output_shapes.clone()
    }
    fn device(&self) -> Device {
        self.device
    }

    fn ensure_built(&mut self, input_shape: &[i64]) -> Result<()> {
        self.build(input_shape.to_vec())
    }

    fn to_device(&mut self, device: Device) -> Result<()> {
        crate::models::model::move_layers_to(self.layers_mut(), device)?;
        self.device = device;
        Ok(())
    }

    fn layer_outputs(&self, x: &Tensor, layers: &[&str], training: bool) -> Result<Vec<Tensor>> {
        let wanted: Vec<usize> = layers
            .iter()
            .map(|n| self.layer_index(n))
            .collect::<Result<_>>()?;
        let last = wanted.iter().copied().max();
        self.check_batch(x)?;
        let mut found: Vec<Option<Tensor>> = (0..self.layers.len()).map(|_| None).collect();
        let mut h = x.f_to_device(self.device)?;
        for (i, layer) in self.layers.iter().enumerate() {
            if Some(i) > last {
                break;
            }
            h = call_layer(layer.as_ref(), &h, training)?;
            if wanted.contains(&i) {
                found[i] = Some(h.shallow_clone());
            }
        }
        Ok(wanted
            .iter()
            .map(|&i| found[i].as_ref().map(|t| t.shallow_clone()))
            .collect::<Option<Vec<_>>>()
            .unwrap_or_default())
    }

    fn forward_from(&self, from: &str, h: &Tensor, training: bool) -> Result<Tensor> {
        let start = self.layer_index(from)?;
        let mut h = h.f_to_device(self.device)?;
        for layer in &self.layers[start + 1..] {
            h = call_layer(layer.as_ref(), &h, training)?;
        }
        Ok(h)
    }

    fn forward_with_losses(&self, x: &Tensor, training: bool) -> Result<(Tensor, Option<Tensor>)> {
        self.check_batch(x)?;
        let mut h = if x.device() == self.device {
            x.shallow_clone()
        } else {
            x.f_to_device(self.device)?
        };
        let mut extra: Option<Tensor> = None;
        for layer in &self.layers {
            h = call_layer(layer.as_ref(), &h, training)?;
            if let Some(r) = layer.activity_regularizer() {
                // Keras 3 divides the activity penalty by the batch size.
                let batch = h.size().first().copied().unwrap_or(1).max(1);
                let p = r.penalty(&h)?.f_div_scalar(batch as f64)?;
                extra = Some(match extra {
                    Some(e) => e.f_add(&p)?,
                    None => p,
                });
            }
        }
        Ok((h, extra))
    }

    fn architecture(&self) -> serde_json::Value {
        let layers: Vec<LayerConfig> = self.layers.iter().map(|l| l.config()).collect();
        json!({
            "class_name": "Sequential",
            "config": {"name": self.name, "input_shape": self.input_shape, "layers": layers},
        })
    }

    fn compiled(&self) -> Option<&Compiled> {
        self.compiled.as_ref()
    }
    fn set_compiled(&mut self, compiled: Option<Compiled>) {
        self.compiled = compiled;
    }
    fn compiled_mut(&mut self) -> Option<&mut Compiled> {
        self.compiled.as_mut()
    }
}
