//! The error type of convkit-data.

use std::path::PathBuf;

/// Errors raised while reading or fetching datasets.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An error from the tensor layer.
    #[error(transparent)]
    Tensor(#[from] convkit_tensor::Error),
    /// libtorch raised an exception.
    #[error("libtorch: {0}")]
    Torch(#[from] convkit_tensor::tch::TchError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file is shorter or longer than its header says.
    #[error("{path}: truncated or corrupt IDX file: expected {expected} bytes, found {actual}")]
    Size {
        /// The file.
        path: PathBuf,
        /// Size implied by the header.
        expected: u64,
        /// Actual size.
        actual: u64,
    },
    /// A file is not in the expected format.
    #[error("{path}: {problem}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A dataset is not where it was looked for.
    #[error("{dataset} not found in {dir}: missing {missing}. {hint}")]
    Missing {
        /// Dataset name.
        dataset: String,
        /// Directory searched.
        dir: PathBuf,
        /// The first missing file.
        missing: String,
        /// How to get it.
        hint: String,
    },
    /// A file's digest differs from the published one.
    #[error("{what}: MD5 {actual} differs from the expected {expected}")]
    Digest {
        /// The file or URL.
        what: String,
        /// Expected digest.
        expected: String,
        /// Actual digest.
        actual: String,
    },
    /// An option has a value it cannot take.
    #[error("{what}: option '{option}' {problem}")]
    Option {
        /// The dataset, loader or command at fault.
        what: String,
        /// The option.
        option: String,
        /// What is wrong and what was expected.
        problem: String,
    },
    /// An image file could not be used (corrupt, truncated, too large, unsupported...).
    #[error("{path}: {problem}")]
    Image {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A feature cache does not match what asked for it, or is damaged.
    #[error("feature cache {path}: {problem}")]
    Cache {
        /// The cache directory.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// An error from an augmentation.
    #[error(transparent)]
    Augment(#[from] convkit_augment::Error),
    /// A download failed from every mirror.
    #[error("could not download {file}: {attempts}")]
    Download {
        /// The file.
        file: String,
        /// What happened at each mirror.
        attempts: String,
    },
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn option(what: &str, option: &str, problem: impl Into<String>) -> Self {
        Error::Option {
            what: what.into(),
            option: option.into(),
            problem: problem.into(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
