//! [`Functional`]: a model whose layers form a directed acyclic graph (Keras' `Model(inputs,
//! outputs)`).

use convkit_tensor::tch::{Device, Tensor};
use serde_json::json;

use crate::layers::layer::Layer;
use crate::layers::layer::LayerConfig;
use crate::layers::registry::layer_from_config;
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
    name: String,
    layers: Vec<Box<dyn Layer>>,
    nodes: Vec<Node>,
    inputs: Vec<usize>,
    outputs: Vec<usize>,
    device: Device,
    compiled: Option<Compiled>,
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

    fn error(&self, problem: String) -> Error {
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

    /// Evaluates `fetch` given values for `feeds`; also returns the activity penalties.
    /// Intermediate values are dropped as soon as no remaining node needs them.
    fn run(
        &self,
        feeds: Vec<(usize, Tensor)>,
        fetch: &[usize],
        training: bool,
    ) -> Result<(Vec<Tensor>, Option<Tensor>)> {
        let n = self.nodes.len();
        let mut values: Vec<Option<Tensor>> = (0..n).map(|_| None).collect();
        let mut fed = vec![false; n];
        for (i, t) in feeds {
            fed[i] = true;
            values[i] = Some(t);
        }
        let mut needed = vec![false; n];
        let mut stack: Vec<usize> = fetch.to_vec();
        while let Some(i) = stack.pop() {
            if needed[i] {
                continue;
            }
            needed[i] = true;
            if !fed[i] {
                stack.extend(self.nodes[i].inputs.iter().copied());
            }
        }
        let mut remaining = vec![0usize; n];
        for i in (0..n).filter(|&i| needed[i] && !fed[i]) {
            for &j in &self.nodes[i].inputs {
                remaining[j] += 1;
            }
        }
        for &f in fetch {
            remaining[f] += 1;
        }
        // Single consumer of each node (usize::MAX: none or several), for BN folding.
        let mut consumer = vec![usize::MAX; n];
        for i in (0..n).filter(|&i| needed[i] && !fed[i]) {
            if let [j] = self.nodes[i].inputs.as_slice() {
                consumer[*j] = i;
            }
        }
        let mut folded = vec![false; n];
        let mut extra: Option<Tensor> = None;
        for i in 0..n {
            if !needed[i] || fed[i] || folded[i] {
                continue;
            }
            let node = &self.nodes[i];
            let layer = &self.layers[node.layer];
            if let Some((c, y)) = self.try_fold(i, &consumer, &remaining, &values, training)? {
                for &j in &node.inputs {
                    remaining[j] -= 1;
                    if remaining[j] == 0 {
                        values[j] = None;
                    }
                }
                folded[c] = true;
                values[c] = Some(y);
                continue;
            }
            if node.inputs.is_empty() {
                return Err(self.error(format!(
                    "needs a value for input '{}', which was not given",
                    layer.name()
                )));
            }
            let xs: Vec<Tensor> = node
                .inputs
                .iter()
                .map(|&j| {
                    values[j]
                        .as_ref()
                        .map(|t| t.shallow_clone())
                        .ok_or_else(|| self.error(format!("value of node {j} missing")))
                })
                .collect::<Result<_>>()?;
            let refs: Vec<&Tensor> = xs.iter().collect();
            let y = layer.forward_multi(&refs, training)?;
            drop(refs);
            drop(xs);
            if let Some(r) = layer.activity_regularizer() {
                let batch = y.size().first().copied().unwrap_or(1).max(1);
                let p = r.penalty(&y)?.f_div_scalar(batch as f64)?;
                extra = Some(match extra {
                    Some(e) => e.f_add(&p)?,
                    None => p,
                });
            }
            for &j in &node.inputs {
                remaining[j] -= 1;
                if remaining[j] == 0 {
                    values[j] = None;
                }
            }
            values[i] = Some(y);
        }
        let outs = fetch
            .iter()
            .map(|&f| {
                values[f]
                    .as_ref()
                    .map(|t| t.shallow_clone())
                    .ok_or_else(|| self.error(format!("value of node {f} missing")))
            })
            .collect::<Result<_>>()?;
        Ok((outs, extra))
    }

    /// Batch normalization folding: when node `i` is a convolution whose only use is a
    /// `BatchNormalization` in inference mode (no activity regularizer on either), runs both
    /// as one convolution with a folded kernel and returns the BN node and its value.
    fn try_fold(
        &self,
        i: usize,
        consumer: &[usize],
        remaining: &[usize],
        values: &[Option<Tensor>],
        training: bool,
    ) -> Result<Option<(usize, Tensor)>> {
        let c = consumer[i];
        if c == usize::MAX || remaining[i] != 1 {
            return Ok(None);
        }
        let (conv, bn) = (
            &self.layers[self.nodes[i].layer],
            &self.layers[self.nodes[c].layer],
        );
        if conv.activity_regularizer().is_some() || bn.activity_regularizer().is_some() {
            return Ok(None);
        }
        let Some(affine) = bn.channel_affine(training) else {
            return Ok(None);
        };
        let [input] = self.nodes[i].inputs.as_slice() else {
            return Ok(None);
        };
        let Some(x) = values[*input].as_ref() else {
            return Ok(None);
        };
        let (scale, shift) = affine?;
        match conv.forward_folded(x, &scale, &shift) {
            Some(y) => Ok(Some((c, y?))),
            None => Ok(None),
        }
    }

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

/// The order of `model.layers` in Keras (`keras/src/ops/function.py`, `map_graph`): a
/// depth-first walk from the outputs through each node's inputs numbers the layers; each layer
/// gets the longest distance from it to an output as depth; layers come by decreasing depth,
/// ties by their walk number.
fn keras_layer_order(nodes: &[Node], inputs: &[usize], outputs: &[usize]) -> Vec<usize> {
    fn walk(
        n: usize,
        nodes: &[Node],
        inputs: &[usize],
        finished: &mut [bool],
        op_index: &mut Vec<usize>,
        order: &mut Vec<usize>,
    ) {
        if finished[n] {
            return;
        }
        if !op_index.contains(&nodes[n].layer) {
            op_index.push(nodes[n].layer);
        }
        if !inputs.contains(&n) {
            for &p in &nodes[n].inputs {
                walk(p, nodes, inputs, finished, op_index, order);
            }
        }
        finished[n] = true;
        order.push(n);
    }
    let mut finished = vec![false; nodes.len()];
    let mut op_index = Vec::new();
    let mut order = Vec::new();
    for &o in outputs {
        walk(o, nodes, inputs, &mut finished, &mut op_index, &mut order);
    }
    let mut node_depth: std::collections::HashMap<usize, usize> = Default::default();
    let mut layer_depth: std::collections::HashMap<usize, usize> = Default::default();
    for &n in order.iter().rev() {
        let depth = (*node_depth.get(&n).unwrap_or(&0))
            .max(*layer_depth.get(&nodes[n].layer).unwrap_or(&0));
        layer_depth.insert(nodes[n].layer, depth);
        node_depth.insert(n, depth);
        for &p in &nodes[n].inputs {
            let prev = *node_depth.get(&p).unwrap_or(&0);
            node_depth.insert(p, prev.max(depth + 1));
        }
    }
    // Inputs not connected to an output still belong to the model.
    for &i in inputs {
        if !op_index.contains(&nodes[i].layer) {
            op_index.push(nodes[i].layer);
            layer_depth.insert(nodes[i].layer, 0);
        }
    }
    let mut layers = op_index.clone();
    let rank = |l: &usize| op_index.iter().position(|x| x == l).unwrap_or(usize::MAX);
    layers.sort_by(|a, b| {
        layer_depth[b]
            .cmp(&layer_depth[a])
            .then_with(|| rank(a).cmp(&rank(b)))
    });
    layers
}

/// Kahn's algorithm: node indices in an order where inputs come first, or the nodes of a
/// cycle.
fn topological_order(nodes: &[Node]) -> std::result::Result<Vec<usize>, Vec<usize>> {
    let n = nodes.len();
    let mut indegree: Vec<usize> = nodes.iter().map(|node| node.inputs.len()).collect();
    let mut consumers: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, node) in nodes.iter().enumerate() {
        for &j in &node.inputs {
            consumers[j].push(i);
        }
    }
    let mut ready: std::collections::VecDeque<usize> =
        (0..n).filter(|&i| indegree[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_front() {
        order.push(i);
        for &c in &consumers[i] {
            indegree[c] -= 1;
            if indegree[c] == 0 {
                ready.push_back(c);
            }
        }
    }
    if order.len() == n {
        Ok(order)
    } else {
        Err((0..n).filter(|&i| indegree[i] > 0).collect())
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
