//! The error type of convkit-tensor.

use std::path::PathBuf;

/// Errors raised by convkit-tensor.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// libtorch raised an exception.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// A device string could not be parsed.
    #[error("invalid device '{given}': expected one of auto, cpu, cuda, cuda:N")]
    InvalidDevice {
        /// What the user gave.
        given: String,
    },
    /// A CUDA device was asked for and none answers.
    #[error(
        "CUDA device {requested} was requested but {reason}; use --device cpu or --device auto"
    )]
    CudaUnavailable {
        /// The index asked for.
        requested: usize,
        /// Why it cannot be used.
        reason: String,
    },
    /// A tensor has a shape the operation cannot take.
    #[error("{what}: expected shape {expected}, got {actual:?}")]
    Shape {
        /// The operation or argument at fault.
        what: String,
        /// A description of the expected shape.
        expected: String,
        /// The shape received.
        actual: Vec<i64>,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file at fault.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Another process holds the output folder ([`crate::dir_lock::DirLock`]).
    #[error(
        "{dir} is in use by another convkit run{}; wait for it to finish or choose another --out",
        holder.map(|p| format!(" (PID {p})")).unwrap_or_default()
    )]
    Locked {
        /// The folder.
        dir: PathBuf,
        /// PID of the process holding it, when its lock file says.
        holder: Option<u32>,
    },
    /// Any other invalid argument.
    #[error("{0}")]
    Invalid(String),
    /// An error of another crate that crossed this crate's interfaces (a batch source's data
    /// error naming its file): kept whole, so `source()` and `downcast_ref` reach it.
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync + 'static>),
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps another crate's error, keeping it whole.
    pub fn other(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::Other(Box::new(e))
    }

    /// The wrapped error of another crate, if this is one of type `E`.
    pub fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        match self {
            Error::Other(e) => e.downcast_ref::<E>(),
            _ => None,
        }
    }

    /// Builds an [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
