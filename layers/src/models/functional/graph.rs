//! [`Graph`]: builds a functional model by calling layers on symbolic tensors.

use std::sync::atomic::{AtomicU64, Ordering};

use convkit_tensor::tch::Device;

use crate::layers::layer::Layer;
use crate::models::functional::input_layer::InputLayer;
use crate::models::functional::nested::IntoLayer;
use crate::models::functional::node::Node;
use crate::models::functional::symbolic::SymbolicTensor;
use crate::models::functional::Functional;
use crate::{Error, Result};

static NEXT_GRAPH: AtomicU64 = AtomicU64::new(1);

/// Handle of a layer added to a [`Graph`], to call it more than once (shared weights).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerId(usize);

/// A functional model under construction (Keras' functional API).
///
/// Layers are built as they are called, so a shape error points at the call that causes it.
/// Unnamed layers get Keras-style names unique in the graph (`conv2d`, `conv2d_1`...).
///
/// # Example
/// The book's residual connection:
/// ```
/// use convkit_layers::prelude::*;
/// # fn main() -> convkit_layers::Result<()> {
/// let mut g = Graph::new();
/// let inputs = g.input([3, 32, 32]);
/// let x = g.apply(Conv2D::new(32, 3).activation(Activation::Relu), inputs)?;
/// let residual = x;
/// let x = g.apply(Conv2D::new(64, 3).activation(Activation::Relu).padding(Padding::Same), x)?;
/// let x = g.apply(MaxPooling2D::new(2).padding(Padding::Same), x)?;
/// let residual = g.apply(Conv2D::new(64, 1).strides(2), residual)?;
/// let x = g.merge(Add::new(), &[x, residual])?;
/// let model = g.model("residual", &[inputs], &[x])?;
/// assert_eq!(model.output_shape(), Some(vec![64, 15, 15]));
/// # Ok(()) }
/// ```
pub struct Graph {
    id: u64,
    device: Device,
    pub(crate) layers: Vec<Box<dyn Layer>>,
    pub(crate) nodes: Vec<Node>,
}

impl Default for Graph {
    fn default() -> Self {
        Self::new()
    }
}

impl Graph {
    /// An empty graph whose layers are built on the CPU.
    pub fn new() -> Self {
        Graph {
            id: NEXT_GRAPH.fetch_add(1, Ordering::Relaxed),
            device: Device::Cpu,
            layers: Vec::new(),
            nodes: Vec::new(),
        }
    }

    /// Builds layers on `device`.
    pub fn on_device(mut self, device: Device) -> Self {
        self.device = device;
        self
    }

    /// A new model input taking samples of `shape` (NCHW without batch: `[3, 180, 180]`).
    pub fn input(&mut self, shape: impl Into<Vec<i64>>) -> SymbolicTensor {
        let mut layer = InputLayer::new(shape);
        let name = self.unique_name("input_layer");
        layer.common_mut().name = Some(name);
        self.push_input(layer)
    }

    /// A new named model input.
    pub fn input_named(
        &mut self,
        name: &str,
        shape: impl Into<Vec<i64>>,
    ) -> Result<SymbolicTensor> {
        self.check_free(name)?;
        let mut layer = InputLayer::new(shape);
        layer.common_mut().name = Some(name.to_string());
        Ok(self.push_input(layer))
    }

    fn push_input(&mut self, layer: InputLayer) -> SymbolicTensor {
        let shape = layer.shape().to_vec();
        self.layers.push(Box::new(layer));
        self.nodes.push(Node {
            layer: self.layers.len() - 1,
            inputs: Vec::new(),
            shape,
        });
        self.handle(self.nodes.len() - 1)
    }

    /// The shape of a symbolic tensor (without batch dimension).
    pub fn shape(&self, t: SymbolicTensor) -> &[i64] {
        self.nodes
            .get(t.node)
            .filter(|_| t.graph == self.id)
            .map(|n| n.shape.as_slice())
            .unwrap_or(&[])
    }

    /// Calls a new single-input layer (or a model) on `x`.
    pub fn apply(&mut self, layer: impl IntoLayer, x: SymbolicTensor) -> Result<SymbolicTensor> {
        let id = self.add_layer(layer)?;
        self.call(id, &[x])
    }

    /// Calls a new merge layer (`Add`, `Concatenate`...) on several inputs.
    pub fn merge(
        &mut self,
        layer: impl IntoLayer,
        xs: &[SymbolicTensor],
    ) -> Result<SymbolicTensor> {
        let id = self.add_layer(layer)?;
        self.call(id, xs)
    }

    /// Adds a layer without calling it yet; call it (one or more times) with [`Graph::call`].
    pub fn add_layer(&mut self, layer: impl IntoLayer) -> Result<LayerId> {
        let mut layer = layer.into_layer();
        match layer.common().name.clone() {
            Some(n) => self.check_free(&n)?,
            None => {
                let name = self.unique_name(layer.base_name());
                layer.common_mut().name = Some(name);
            }
        }
        self.layers.push(layer);
        Ok(LayerId(self.layers.len() - 1))
    }

    /// Calls layer `id` on `xs`. The first call builds it; later calls share its weights and
    /// must use the same input shapes.
    pub fn call(&mut self, id: LayerId, xs: &[SymbolicTensor]) -> Result<SymbolicTensor> {
        let mut shapes = Vec::with_capacity(xs.len());
        for x in xs {
            if x.graph != self.id || x.node >= self.nodes.len() {
                return Err(self.error(format!(
                    "a symbolic tensor from another graph was passed to layer '{}'",
                    self.layers.get(id.0).map(|l| l.name()).unwrap_or("?")
                )));
            }
            shapes.push(self.nodes[x.node].shape.clone());
        }
        let device = self.device;
        let layer = self.layers.get_mut(id.0).ok_or_else(|| Error::Model {
            model: "functional".into(),
            problem: format!("no layer with id {}", id.0),
        })?;
        let already_called = self.nodes.iter().any(|n| n.layer == id.0);
        let shape = if already_called {
            layer.compute_output_shape_multi(&shapes)?
        } else {
            layer.build_multi(&shapes, device)?
        };
        self.nodes.push(Node {
            layer: id.0,
            inputs: xs.iter().map(|x| x.node).collect(),
            shape,
        });
        Ok(self.handle(self.nodes.len() - 1))
    }

    /// The model from `inputs` to `outputs`. Layers that do not lie on a path between them
    /// are dropped; an output that needs an input not listed is an error.
    pub fn model(
        self,
        name: &str,
        inputs: &[SymbolicTensor],
        outputs: &[SymbolicTensor],
    ) -> Result<Functional> {
        for t in inputs.iter().chain(outputs) {
            if t.graph != self.id || t.node >= self.nodes.len() {
                return Err(self.error("a symbolic tensor from another graph was given".into()));
            }
        }
        if inputs.is_empty() || outputs.is_empty() {
            return Err(self.error("a model needs at least one input and one output".into()));
        }
        for i in inputs {
            if !self.nodes[i.node].inputs.is_empty() {
                return Err(self.error(format!(
                    "model inputs must come from Graph::input; '{}' is the output of a layer",
                    self.layers[self.nodes[i.node].layer].name()
                )));
            }
        }
        let input_nodes: Vec<usize> = inputs.iter().map(|t| t.node).collect();
        let output_nodes: Vec<usize> = outputs.iter().map(|t| t.node).collect();
        Functional::from_parts(
            name,
            self.device,
            self.layers,
            self.nodes,
            input_nodes,
            output_nodes,
        )
    }

    fn handle(&self, node: usize) -> SymbolicTensor {
        SymbolicTensor {
            graph: self.id,
            node,
        }
    }

    fn check_free(&self, name: &str) -> Result<()> {
        if self.layers.iter().any(|l| l.name() == name) {
            return Err(self.error(format!(
                "a layer named '{name}' already exists; layer names must be unique"
            )));
        }
        Ok(())
    }

    fn unique_name(&self, base: &str) -> String {
        let taken = |n: &str| self.layers.iter().any(|l| l.name() == n);
        let mut candidate = base.to_string();
        let mut i = 0;
        while taken(&candidate) {
            i += 1;
            candidate = format!("{base}_{i}");
        }
        candidate
    }

    fn error(&self, problem: String) -> Error {
        Error::Model {
            model: "functional".into(),
            problem,
        }
    }
}
