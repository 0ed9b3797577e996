//! [`Functional`]: a model whose layers form a directed acyclic graph (Keras' `Model(inputs,
//! outputs)`).

use convkit_tensor::tch::{Device, Tensor};
use serde_json::json;

use super::layer_order::keras_layer_order;
use crate::layers::layer::Layer;
use crate::layers::layer::LayerConfig;
use crate::models::functional::node::Node;
use crate::models::model::{unknown_layer, Model};
use crate::training::compiled::Compiled;
use crate::{Error, Result};

/// A model whose layers form a graph: several inputs and outputs, merges (residual
/// connections), shared layers and nested models. Build one with [`super::Graph`].
///
/// [`Model::layers`] lists the layers in the order they were first called, input layers
/// included, as Keras' `model.layers`.
pub struct Functional {
    pub(super) name: String,
    pub(super) layers: Vec<Box<dyn Layer>>,
    pub(super) nodes: Vec<Node>,
    pub(super) inputs: Vec<usize>,
    pub(super) outputs: Vec<usize>,
    pub(super) device: Device,
    pub(super) compiled: Option<Compiled>,
}

impl std::fmt::Debug for Functional {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Functional")
            .field("name", &self.name)
            .field("layers", &self.layers)
            .finish()
    }
}

impl Functional {
    /// Assembles a model from a graph's layers and nodes (nodes in topological order: every
    /// node's inputs come before it). Keeps what lies between `inputs` and `outputs`.
    pub(crate) fn from_parts(
        name: &str,
        device: Device,
        layers: Vec<Box<dyn Layer>>,
        nodes: Vec<Node>,
        inputs: Vec<usize>,
        outputs: Vec<usize>,
    ) -> Result<Functional> {
        let err = |problem: String| Error::Model {
            model: name.to_string(),
            problem,
        };
        // Nodes the outputs depend on.
        let mut needed = vec![false; nodes.len()];
        let mut stack: Vec<usize> = outputs.clone();
        while let Some(i) = stack.pop() {
            if needed[i] {
                continue;
            }
            needed[i] = true;
            stack.extend(nodes[i].inputs.iter().copied());
        }
        for (i, node) in nodes.iter().enumerate() {
            if needed[i] && node.inputs.is_empty() && !inputs.contains(&i) {
                return Err(err(format!(
                    "the outputs depend on input '{}', which is not among the model's inputs",
                    layers[node.layer].name()
                )));
            }
        }
        for &i in &inputs {
            needed[i] = true;
        }
        // Keep the needed nodes (in order); order the layers as Keras does.
        let layer_order = keras_layer_order(&nodes, &inputs, &outputs);
        let mut layer_map = vec![usize::MAX; layers.len()];
        for (rank, &l) in layer_order.iter().enumerate() {
            layer_map[l] = rank;
        }
        let mut node_map = vec![usize::MAX; nodes.len()];
        let mut kept = Vec::new();
        for (i, node) in nodes.into_iter().enumerate() {
            if !needed[i] {
                continue;
            }
            node_map[i] = kept.len();
            kept.push(Node {
                layer: layer_map[node.layer],
                inputs: node.inputs.iter().map(|&j| node_map[j]).collect(),
                shape: node.shape,
            });
        }
        let mut slots: Vec<Option<Box<dyn Layer>>> = layers.into_iter().map(Some).collect();
        let layers: Vec<Box<dyn Layer>> = layer_order
            .iter()
            .filter_map(|&l| slots[l].take())
            .collect();
        Ok(Functional {
            name: name.to_string(),
            layers,
            nodes: kept,
            inputs: inputs.iter().map(|&i| node_map[i]).collect(),
            outputs: outputs.iter().map(|&i| node_map[i]).collect(),
            device,
            compiled: None,
        })
    }

    /// Renames the model.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Shapes of the inputs (without batch dimension).
    pub fn input_shapes(&self) -> Vec<Vec<i64>> {
        self.inputs
            .iter()
            .map(|&i| self.nodes[i].shape.clone())
            .collect()
    }

    /// Shapes of the outputs (without batch dimension).
    pub fn output_shapes(&self) -> Vec<Vec<i64>> {
        self.outputs
            .iter()
            .map(|&i| self.nodes[i].shape.clone())
            .collect()
    }

    /// Every output for batches of every input (in the order given at construction).
    pub fn forward_all(&self, xs: &[&Tensor], training: bool) -> Result<Vec<Tensor>> {
        Ok(self.forward_many_with_losses(xs, training)?.0)
    }

    pub(super) fn error(&self, problem: String) -> Error {
        Error::Model {
            model: self.name.clone(),
            problem,
        }
    }

    /// Validates a batch fed to input node `n` and moves it to the model's device.
    fn check_input(&self, n: usize, x: &Tensor) -> Result<Tensor> {
        let checked = self.layers[self.nodes[n].layer].forward(x, false)?;
        if checked.device() == self.device {
            Ok(checked)
        } else {
            Ok(checked.f_to_device(self.device)?)
        }
    }

    fn single_input(&self) -> Result<usize> {
        match self.inputs.as_slice() {
            [one] => Ok(*one),
            _ => Err(self.error(format!(
                "has {} inputs; use forward_all with one batch per input",
                self.inputs.len()
            ))),
        }
    }

    fn first_node_of(&self, name: &str) -> Result<usize> {
        let layer = self
            .layers
            .iter()
            .position(|l| l.name() == name)
            .ok_or_else(|| unknown_layer(&self.name, name, &self.layer_names()))?;
        self.nodes
            .iter()
            .position(|n| n.layer == layer)
            .ok_or_else(|| self.error(format!("layer '{name}' is never called")))
    }

    fn layer_names(&self) -> Vec<String> {
        self.layers.iter().map(|l| l.name().to_string()).collect()
    }
}

impl Model for Functional {
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &'static str {
        "Functional"
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
        self.inputs.first().map(|&i| self.nodes[i].shape.as_slice())
    }
    fn output_shape(&self) -> Option<Vec<i64>> {
        self.outputs.first().map(|&i| self.nodes[i].shape.clone())
    }
    fn layer_output_shapes(&self) -> Vec<Vec<i64>> {
        (0..self.layers.len())
            .map(|l| {
                self.nodes
                    .iter()
                    .find(|n| n.layer == l)
                    .map(|n| n.shape.clone())
                    .unwrap_or_default()
            })
            .collect()
    }
    fn device(&self) -> Device {
        self.device
    }
    fn forward_with_losses(&self, x: &Tensor, training: bool) -> Result<(Tensor, Option<Tensor>)> {
        let input = self.single_input()?;
        if self.outputs.len() != 1 {
            return Err(self.error(format!(
                "has {} outputs; use forward_all",
                self.outputs.len()
            )));
        }
        let feeds = vec![(input, self.check_input(input, x)?)];
        let (mut outs, extra) = self.run(feeds, &self.outputs, training)?;
        Ok((outs.remove(0), extra))
    }
    fn num_inputs(&self) -> usize {
        self.inputs.len()
    }
    fn output_names(&self) -> Vec<String> {
        self.outputs
            .iter()
            .map(|&i| self.layers[self.nodes[i].layer].name().to_string())
            .collect()
    }
    fn forward_many_with_losses(
        &self,
        xs: &[&Tensor],
        training: bool,
    ) -> Result<(Vec<Tensor>, Option<Tensor>)> {
        if xs.len() != self.inputs.len() {
            return Err(self.error(format!(
                "expects {} inputs, got {}",
                self.inputs.len(),
                xs.len()
            )));
        }
        let feeds: Vec<(usize, Tensor)> = self
            .inputs
            .iter()
            .zip(xs)
            .map(|(&n, x)| Ok((n, self.check_input(n, x)?)))
            .collect::<Result<_>>()?;
        self.run(feeds, &self.outputs, training)
    }
    fn ensure_built(&mut self, input_shape: &[i64]) -> Result<()> {
        match self.input_shape() {
            Some(s) if s == input_shape => Ok(()),
            other => Err(self.error(format!(
                "was built for input shape {} and cannot take {}",
                crate::error::shape_string(other.unwrap_or(&[])),
                crate::error::shape_string(input_shape)
            ))),
        }
    }
    fn to_device(&mut self, device: Device) -> Result<()> {
        crate::models::model::move_layers_to(self.layers_mut(), device)?;
        self.device = device;
        Ok(())
    }
    fn layer_outputs(&self, x: &Tensor, layers: &[&str], training: bool) -> Result<Vec<Tensor>> {
        let input = self.single_input()?;
        let fetch: Vec<usize> = layers
            .iter()
            .map(|n| self.first_node_of(n))
            .collect::<Result<_>>()?;
        let feeds = vec![(input, self.check_input(input, x)?)];
        Ok(self.run(feeds, &fetch, training)?.0)
    }
    fn forward_from(&self, from: &str, h: &Tensor, training: bool) -> Result<Tensor> {
        let node = self.first_node_of(from)?;
        if self.outputs.len() != 1 {
            return Err(self.error(format!(
                "has {} outputs; forward_from needs one",
                self.outputs.len()
            )));
        }
        let h = h.f_to_device(self.device)?;
        let (mut outs, _) = self
            .run(vec![(node, h)], &self.outputs, training)
            .map_err(|e| {
                self.error(format!(
                    "cannot run the model from layer '{from}' alone: {e}"
                ))
            })?;
        Ok(outs.remove(0))
    }
    fn connections(&self) -> Option<Vec<Vec<String>>> {
        let call_index = |node: usize| {
            let layer = self.nodes[node].layer;
            self.nodes[..node]
                .iter()
                .filter(|n| n.layer == layer)
                .count()
        };
        Some(
            (0..self.layers.len())
                .map(|l| {
                    self.nodes
                        .iter()
                        .find(|n| n.layer == l)
                        .map(|n| {
                            n.inputs
                                .iter()
                                .map(|&j| {
                                    format!(
                                        "{}[{}][0]",
                                        self.layers[self.nodes[j].layer].name(),
                                        call_index(j)
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default()
                })
                .collect(),
        )
    }
    fn architecture(&self) -> serde_json::Value {
        let layers: Vec<LayerConfig> = self.layers.iter().map(|l| l.config()).collect();
        json!({
            "class_name": "Functional",
            "config": {
                "name": self.name,
                "layers": layers,
                "nodes": self.nodes,
                "inputs": self.inputs,
                "outputs": self.outputs,
            },
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
