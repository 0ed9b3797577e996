//! [`SubModel`]: part of a model, sharing its weights (Keras' `Model(inputs=model.input,
//! outputs=...)` over existing layers).

use convkit_tensor::tch::Tensor;

use crate::models::model::Model;
use crate::Result;

/// A view of part of a model that shares its weights:
/// - [`SubModel::outputs`]: from the model's input to the outputs of some layers (the book's
///   activation model: one output per conv and pooling layer);
/// - [`SubModel::after`]: from a layer's output to the model's output (the classifier part
///   after the last conv layer, for Grad-CAM).
pub struct SubModel<'m> {
    model: &'m dyn Model,
    after: Option<String>,
    outputs: Vec<String>,
}

impl<'m> SubModel<'m> {
    /// Input -> outputs of `layers` (checked now: unknown names are an error).
    pub fn outputs(model: &'m dyn Model, layers: &[&str]) -> Result<Self> {
        for l in layers {
            model.get_layer(l)?;
        }
        Ok(SubModel {
            model,
            after: None,
            outputs: layers.iter().map(|s| s.to_string()).collect(),
        })
    }

    /// Input -> output of one `layer` (the book's `Model(model.input, layer.output)`), called
    /// with [`SubModel::predict_one`].
    pub fn output(model: &'m dyn Model, layer: &str) -> Result<Self> {
        Self::outputs(model, &[layer])
    }

    /// Output of `layer` -> the model's output.
    pub fn after(model: &'m dyn Model, layer: &str) -> Result<Self> {
        model.get_layer(layer)?;
        Ok(SubModel {
            model,
            after: Some(layer.to_string()),
            outputs: Vec::new(),
        })
    }

    /// Runs the part on a batch: one tensor per requested output (one for [`SubModel::after`]).
    pub fn forward(&self, x: &Tensor, training: bool) -> Result<Vec<Tensor>> {
        match &self.after {
            Some(from) => Ok(vec![self.model.forward_from(from, x, training)?]),
            None => {
                let names: Vec<&str> = self.outputs.iter().map(|s| s.as_str()).collect();
                self.model.layer_outputs(x, &names, training)
            }
        }
    }

    /// Runs the part in inference mode without gradients.
    pub fn predict(&self, x: &Tensor) -> Result<Vec<Tensor>> {
        convkit_tensor::tch::no_grad(|| self.forward(x, false))
    }

    /// Runs a part with one output ([`SubModel::output`], [`SubModel::after`]) in inference
    /// mode and returns that output; a part with several outputs is an error naming them.
    pub fn predict_one(&self, x: &Tensor) -> Result<Tensor> {
        let mut outputs = self.predict(x)?;
        match outputs.len() {
            1 => Ok(outputs.remove(0)),
            n => Err(crate::Error::Model {
                model: self.model.name().into(),
                problem: format!(
                    "predict_one on a part with {n} outputs ({}); use predict",
                    self.outputs.join(", ")
                ),
            }),
        }
    }
}
