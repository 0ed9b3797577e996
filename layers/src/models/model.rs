//! The [`Model`] trait: what training, saving and summaries need from a network, whatever its
//! topology: a [`crate::Sequential`] stack or a [`crate::Functional`] graph.

use convkit_tensor::tch::{Device, Tensor};

use crate::layers::layer::{Layer, Param};
use crate::training::compiled::Compiled;
use crate::{Error, Result};

/// A network of layers that can be trained, evaluated, saved and summarised.
pub trait Model: Send {
    /// The model's name (`"sequential"`).
    fn name(&self) -> &str;
    /// Keras' class name (`"Sequential"`).
    fn class_name(&self) -> &'static str;
    /// The layers, in order.
    fn layers(&self) -> Vec<&dyn Layer>;
    /// The layers, mutable.
    fn layers_mut(&mut self) -> Vec<&mut dyn Layer>;
    /// Input shape without batch dimension, once known.
    fn input_shape(&self) -> Option<&[i64]>;
    /// Output shape of each layer (same order as [`Model::layers`]), once built.
    fn layer_output_shapes(&self) -> Vec<Vec<i64>>;
    /// The device holding the parameters.
    fn device(&self) -> Device;
    /// Predictions for a batch, and the sum of activity-regularization penalties.
    fn forward_with_losses(&self, x: &Tensor, training: bool) -> Result<(Tensor, Option<Tensor>)>;
    /// The architecture as JSON (what `model.json` holds).
    fn architecture(&self) -> serde_json::Value;
    /// Compiled training state, if compiled.
    fn compiled(&self) -> Option<&Compiled>;
    /// Replaces the compiled training state.
    fn set_compiled(&mut self, compiled: Option<Compiled>);
    /// Mutable compiled state.
    fn compiled_mut(&mut self) -> Option<&mut Compiled>;

    /// Builds the model for `input_shape` if it is not built yet; a built model checks that
    /// the shape is the one it was built for.
    fn ensure_built(&mut self, input_shape: &[i64]) -> Result<()>;
    /// Moves every weight to `device`.
    fn to_device(&mut self, device: Device) -> Result<()>;
    /// The outputs of the named layers for input batch `x` (Keras'
    /// `Model(inputs=model.input, outputs=[layer.output ...])`), in the order asked.
    fn layer_outputs(&self, x: &Tensor, layers: &[&str], training: bool) -> Result<Vec<Tensor>>;
    /// Runs the part of the model after layer `from`, taking `h` as that layer's output (the
    /// "rest of the classifier" of Grad-CAM). Fails when the rest also needs other values.
    fn forward_from(&self, from: &str, h: &Tensor, training: bool) -> Result<Tensor>;
    /// For each layer (same order as [`Model::layers`]), the layers feeding it, as
    /// `name[node][tensor]`; `None` for a plain stack (no "Connected to" column).
    fn connections(&self) -> Option<Vec<Vec<String>>> {
        None
    }

    /// Freezes or unfreezes every layer (Keras' `model.trainable = ...`); recompile afterwards.
    fn set_trainable(&mut self, trainable: bool) {
        for l in self.layers_mut() {
            l.set_trainable(trainable);
        }
    }

    /// Freezes every layer before `name` and unfreezes `name` and every layer after it (the
    /// book's fine-tuning: `set_trainable_from("block5_conv1")`); recompile afterwards.
    fn set_trainable_from(&mut self, name: &str) -> Result<()> {
        self.get_layer(name)?;
        let mut reached = false;
        for l in self.layers_mut() {
            reached |= l.name() == name;
            l.set_trainable(reached);
        }
        Ok(())
    }

    /// Finds a layer by name, mutable.
    fn get_layer_mut(&mut self, name: &str) -> Result<&mut dyn Layer> {
        let names: Vec<String> = self.layers().iter().map(|l| l.name().to_string()).collect();
        let model = self.name().to_string();
        self.layers_mut()
            .into_iter()
            .find(|l| l.name() == name)
            .ok_or_else(|| unknown_layer(&model, name, &names))
    }

    /// Number of inputs (functional models may have several).
    fn num_inputs(&self) -> usize {
        1
    }

    /// Names of the outputs, in order: the layers that produce them (one for most models).
    fn output_names(&self) -> Vec<String> {
        vec![self
            .layers()
            .last()
            .map(|l| l.name().to_string())
            .unwrap_or_else(|| self.name().to_string())]
    }

    /// Every output for one batch per input, and the sum of activity-regularization
    /// penalties (the training loop's call; models with one input and one output answer
    /// through [`Model::forward_with_losses`]).
    fn forward_many_with_losses(
        &self,
        xs: &[&Tensor],
        training: bool,
    ) -> Result<(Vec<Tensor>, Option<Tensor>)> {
        match xs {
            [x] => {
                let (y, extra) = self.forward_with_losses(x, training)?;
                Ok((vec![y], extra))
            }
            _ => Err(Error::Model {
                model: self.name().into(),
                problem: format!("takes one input, got {}", xs.len()),
            }),
        }
    }

    /// Predictions for a batch.
    fn forward(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        Ok(self.forward_with_losses(x, training)?.0)
    }

    /// Output shape without batch dimension, once built.
    fn output_shape(&self) -> Option<Vec<i64>> {
        self.layer_output_shapes()
            .last()
            .cloned()
            .or_else(|| self.input_shape().map(|s| s.to_vec()))
    }

    /// Sum of the layers' weight-regularization penalties.
    fn regularization_loss(&self) -> Result<Option<Tensor>> {
        let mut total: Option<Tensor> = None;
        for layer in self.layers() {
            if let Some(p) = layer.regularization_loss()? {
                total = Some(match total {
                    Some(t) => t.f_add(&p)?,
                    None => p,
                });
            }
        }
        Ok(total)
    }

    /// Every weight with its model-wide name (`conv2d/kernel`), in layer order.
    fn named_params(&self) -> Vec<(String, &Param)> {
        self.layers()
            .into_iter()
            .flat_map(|l| {
                let name = l.name().to_string();
                l.named_params()
                    .into_iter()
                    .map(move |(n, p)| (format!("{name}/{n}"), p))
            })
            .collect()
    }

    /// The tensors that training updates: trainable parameters of trainable layers.
    fn trainable_tensors(&self) -> Vec<Tensor> {
        self.layers()
            .into_iter()
            .filter(|l| l.trainable())
            .flat_map(|l| {
                l.params()
                    .into_iter()
                    .filter(|p| p.trainable)
                    .map(|p| p.tensor.shallow_clone())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Copies of every weight, by name (Keras' `get_weights`).
    fn get_weights(&self) -> Result<Vec<(String, Tensor)>> {
        self.named_params()
            .into_iter()
            .map(|(n, p)| Ok((n, p.tensor.f_detach_copy()?)))
            .collect()
    }

    /// Copies weights into the model, by name; every weight of the model must be given, with
    /// its shape. Mismatches are reported by name.
    fn set_weights(&mut self, weights: &[(String, Tensor)]) -> Result<()> {
        let map: std::collections::HashMap<&str, &Tensor> =
            weights.iter().map(|(n, t)| (n.as_str(), t)).collect();
        let mut problems = Vec::new();
        for (name, p) in self.named_params() {
            match map.get(name.as_str()) {
                None => problems.push(format!("missing weight '{name}' {:?}", p.tensor.size())),
                Some(t) if t.size() != p.tensor.size() => problems.push(format!(
                    "weight '{name}': expected shape {:?}, found {:?}",
                    p.tensor.size(),
                    t.size()
                )),
                _ => {}
            }
        }
        let known: std::collections::HashSet<String> =
            self.named_params().into_iter().map(|(n, _)| n).collect();
        for (n, _) in weights {
            if !known.contains(n) {
                problems.push(format!("unexpected weight '{n}'"));
            }
        }
        if !problems.is_empty() {
            return Err(Error::Model {
                model: self.name().into(),
                problem: problems.join("; "),
            });
        }
        convkit_tensor::tch::no_grad(|| -> Result<()> {
            for (name, p) in self.named_params() {
                let src = map[name.as_str()];
                let mut dst = p.tensor.shallow_clone();
                dst.f_copy_(&src.f_to_device(dst.device())?.f_to_kind(dst.kind())?)?;
            }
            Ok(())
        })
    }

    /// Number of scalars in all weights.
    fn count_params(&self) -> i64 {
        self.named_params().iter().map(|(_, p)| p.numel()).sum()
    }

    /// Finds a layer by name.
    fn get_layer(&self, name: &str) -> Result<&dyn Layer> {
        let layers = self.layers();
        let names: Vec<String> = layers.iter().map(|l| l.name().to_string()).collect();
        layers
            .into_iter()
            .find(|l| l.name() == name)
            .ok_or_else(|| unknown_layer(self.name(), name, &names))
    }
}

/// Moves every weight of `layers` to `device` (nested models move themselves, so their own
/// device follows), keeping each weight's trainable state.
pub(crate) fn move_layers_to(layers: Vec<&mut dyn Layer>, device: Device) -> Result<()> {
    for layer in layers {
        if let Some(inner) = layer.as_model_mut() {
            inner.to_device(device)?;
            continue;
        }
        for p in layer.params_mut() {
            let moved = p.tensor.f_to_device(device)?.f_detach()?;
            p.tensor = moved.set_requires_grad(p.trainable && p.tensor.requires_grad());
        }
    }
    Ok(())
}

/// The error for a layer name a model does not have; it lists the names it has.
pub(crate) fn unknown_layer(model: &str, name: &str, names: &[String]) -> Error {
    Error::Model {
        model: model.into(),
        problem: format!("no layer named '{name}'; layers are: {}", names.join(", ")),
    }
}
