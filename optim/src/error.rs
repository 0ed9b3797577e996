//! The error type of convkit-optim.

/// Errors raised by optimizers.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An error from the tensor layer (libtorch, files).
    #[error(transparent)]
    Tensor(#[from] convkit_tensor::Error),
    /// libtorch raised an exception.
    #[error("libtorch: {0}")]
    Torch(#[from] convkit_tensor::tch::TchError),
    /// An optimizer option is out of range.
    #[error("optimizer {optimizer}: option `{option}` {problem}")]
    Option {
        /// The optimizer.
        optimizer: String,
        /// The option at fault.
        option: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A saved optimizer state does not fit the parameters.
    #[error("optimizer state {what}: expected {expected}, found {found}")]
    State {
        /// What does not fit (slot name, file).
        what: String,
        /// What was expected.
        expected: String,
        /// What was found.
        found: String,
    },
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
