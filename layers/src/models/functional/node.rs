//! A call of a layer inside a functional graph.

use serde::{Deserialize, Serialize};

/// One call of a layer: which layer, which nodes feed it, and the shape it produces.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct Node {
    /// Index of the layer in the model's layer list.
    pub layer: usize,
    /// Nodes whose outputs are this call's inputs (empty for an input).
    pub inputs: Vec<usize>,
    /// Output shape without batch dimension.
    #[serde(skip)]
    pub shape: Vec<i64>,
}
