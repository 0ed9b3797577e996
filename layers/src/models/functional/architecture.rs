//! A [`Functional`] model from its architecture JSON (`model.json`), checked node by node.

use convkit_tensor::tch::Device;

use super::layer_order::topological_order;
use super::model::Functional;
use super::node::Node;
use crate::layers::layer::{Layer, LayerConfig};
use crate::layers::registry::layer_from_config;
use crate::{Error, Result};

impl Functional {
    /// Rebuilds a model from its architecture JSON (weights freshly initialised). Node
    /// references are checked: an index out of range or a cycle is an error.
    pub fn from_architecture(arch: &serde_json::Value, device: Device) -> Result<Self> {
        let config = arch.get("config").cloned().unwrap_or_default();
        let name = config
            .get("name")
            .and_then(|n| n.as_str())
            .unwrap_or("functional")
            .to_string();
        let bad = |problem: String| Error::Model {
            model: name.clone(),
            problem,
        };
        let field = |key: &str| {
            config
                .get(key)
                .cloned()
                .ok_or_else(|| bad(format!("architecture JSON has no `{key}`")))
        };
        let layer_configs: Vec<LayerConfig> = serde_json::from_value(field("layers")?)
            .map_err(|e| bad(format!("bad `layers`: {e}")))?;
        let mut nodes: Vec<Node> = serde_json::from_value(field("nodes")?)
            .map_err(|e| bad(format!("bad `nodes`: {e}")))?;
        let inputs: Vec<usize> = serde_json::from_value(field("inputs")?)
            .map_err(|e| bad(format!("bad `inputs`: {e}")))?;
        let outputs: Vec<usize> = serde_json::from_value(field("outputs")?)
            .map_err(|e| bad(format!("bad `outputs`: {e}")))?;
        let mut layers: Vec<Box<dyn Layer>> = layer_configs
            .iter()
            .map(layer_from_config)
            .collect::<Result<_>>()?;
        for (i, node) in nodes.iter().enumerate() {
            if node.layer >= layers.len() || node.inputs.iter().any(|&j| j >= nodes.len()) {
                return Err(bad(format!(
                    "node {i} refers to a layer or node that does not exist"
                )));
            }
        }
        if let Some(&i) = inputs.iter().chain(&outputs).find(|&&i| i >= nodes.len()) {
            return Err(bad(format!("input/output node {i} does not exist")));
        }
        let order = topological_order(&nodes).map_err(|cycle| {
            let names: Vec<&str> = cycle
                .iter()
                .map(|&i| layers[nodes[i].layer].name())
                .collect();
            bad(format!(
                "the graph has a cycle through layers {}",
                names.join(" -> ")
            ))
        })?;
        // Build in topological order.
        let mut built = vec![false; layers.len()];
        for &i in &order {
            let shapes: Vec<Vec<i64>> = nodes[i]
                .inputs
                .iter()
                .map(|&j| nodes[j].shape.clone())
                .collect();
            let layer = &mut layers[nodes[i].layer];
            let shape = if nodes[i].inputs.is_empty() {
                if layer.class_name() != "InputLayer" {
                    return Err(bad(format!(
                        "node {i} has no inputs but is not an InputLayer"
                    )));
                }
                layer.build(&[], device)?
            } else if built[nodes[i].layer] {
                layer.compute_output_shape_multi(&shapes)?
            } else {
                layer.build_multi(&shapes, device)?
            };
            built[nodes[i].layer] = true;
            nodes[i].shape = shape;
        }
        // Renumber nodes topologically so that `run` can sweep them in order.
        let mut rank = vec![0; nodes.len()];
        for (r, &i) in order.iter().enumerate() {
            rank[i] = r;
        }
        let mut sorted: Vec<Node> = order
            .iter()
            .map(|&i| {
                let mut n = nodes[i].clone();
                n.inputs = n.inputs.iter().map(|&j| rank[j]).collect();
                n
            })
            .collect();
        sorted.shrink_to_fit();
        Functional::from_parts(
            &name,
            device,
            layers,
            sorted,
            inputs.iter().map(|&i| rank[i]).collect(),
            outputs.iter().map(|&i| rank[i]).collect(),
        )
    }
}
