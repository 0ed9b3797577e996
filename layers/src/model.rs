//! The [`Model`] trait: what training, saving and summaries need from a network, whatever its
//! topology (a [`crate::Sequential`] today, functional graphs later).

use convkit_tensor::tch::{Device, Tensor};

use crate::layer::{Layer, Param};
use crate::training::Compiled;
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
    /// Takes the compiled training state out (the training loop does this around each step).
    fn take_compiled(&mut self) -> Option<Compiled>;
    /// Mutable compiled state.
    fn compiled_mut(&mut self) -> Option<&mut Compiled>;

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
            .ok_or_else(|| Error::Model {
                model: self.name().into(),
                problem: format!("no layer named '{name}'; layers are: {}", names.join(", ")),
            })
    }
}
