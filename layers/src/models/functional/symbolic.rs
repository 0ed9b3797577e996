//! [`SymbolicTensor`]: the output of a layer call while a functional graph is being built.

/// A value in a graph under construction (Keras' `KerasTensor`): the output of one call of a
/// layer. It is a small handle; ask the [`super::Graph`] for its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SymbolicTensor {
    pub(crate) graph: u64,
    pub(crate) node: usize,
}
