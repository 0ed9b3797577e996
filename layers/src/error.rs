//! The error type of convkit-layers.

use std::path::PathBuf;

/// Errors raised by layers, models, losses, metrics and training.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An error from the tensor layer.
    #[error(transparent)]
    Tensor(#[from] convkit_tensor::Error),
    /// An error from an optimizer.
    #[error(transparent)]
    Optim(#[from] convkit_optim::Error),
    /// An error from a batched augmentation kernel.
    #[error(transparent)]
    Augment(#[from] convkit_augment::Error),
    /// A collective of data-parallel training failed (a lost peer, a timeout).
    #[error("data-parallel training: {what}: {source}")]
    Distributed {
        /// What the ranks were doing.
        what: String,
        /// The process group's error.
        source: convkit_tensor::distributed::Error,
    },
    /// libtorch raised an exception.
    #[error("libtorch: {0}")]
    Torch(#[from] convkit_tensor::tch::TchError),
    /// A layer received an input of the wrong shape.
    #[error("layer '{layer}' ({class}): expected input shape {expected}, got {actual}")]
    InputShape {
        /// Layer name.
        layer: String,
        /// Layer class.
        class: String,
        /// Expected shape, Keras style: `(None, 1, 28, 28)`.
        expected: String,
        /// Actual shape.
        actual: String,
    },
    /// A layer option is invalid.
    #[error("layer '{layer}' ({class}): {problem}")]
    Config {
        /// Layer name (or its class when unnamed).
        layer: String,
        /// Layer class.
        class: String,
        /// What is wrong.
        problem: String,
    },
    /// A model-level problem (not built, not compiled, duplicate names...).
    #[error("model '{model}': {problem}")]
    Model {
        /// Model name.
        model: String,
        /// What is wrong.
        problem: String,
    },
    /// A loss or metric received targets that do not fit the predictions.
    #[error("{what}: {problem}")]
    Targets {
        /// The loss or metric.
        what: String,
        /// What is wrong.
        problem: String,
    },
    /// A weights file does not fit the model: every problem, by tensor name.
    #[error("{path}: cannot load weights: {}", summarize(problems))]
    Import {
        /// The weights file.
        path: PathBuf,
        /// Each mismatch (missing tensor, wrong shape, unreadable record).
        problems: Vec<String>,
    },
    /// A loss, metric or optimizer name that is not known.
    #[error("unknown {kind} '{given}': expected one of {}", known.join(", "))]
    UnknownName {
        /// What was named (`loss`, `metric`).
        kind: &'static str,
        /// The name given.
        given: String,
        /// The names known.
        known: Vec<String>,
    },
    /// A saved model or weight file could not be read or does not fit.
    #[error("{path}: {problem}")]
    File {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A failed collective of data-parallel training, saying what the ranks were doing.
    pub(crate) fn distributed(what: &str, source: convkit_tensor::distributed::Error) -> Self {
        Error::Distributed {
            what: what.to_string(),
            source,
        }
    }

    pub(crate) fn unknown_name(kind: &'static str, given: &str, known: &[&str]) -> Self {
        Error::UnknownName {
            kind,
            given: given.to_string(),
            known: known.iter().map(|s| s.to_string()).collect(),
        }
    }

    pub(crate) fn file(path: impl Into<PathBuf>, problem: impl ToString) -> Self {
        Error::File {
            path: path.into(),
            problem: problem.to_string(),
        }
    }
}

/// The error for a batch of shape `actual` given to `layer` (of class `class`) that takes
/// samples of shape `expected`, with the channels-first hint when it applies.
pub(crate) fn batch_shape_error(
    layer: impl Into<String>,
    class: impl Into<String>,
    expected: &[i64],
    actual: &[i64],
) -> Error {
    let hint = channels_last_hint(actual.get(1..).unwrap_or_default());
    Error::InputShape {
        layer: layer.into(),
        class: class.into(),
        expected: shape_string(expected),
        actual: format!("{}{hint}", full_shape_string(actual)),
    }
}

/// A hint when a sample shape `(A, B, C)` looks channels-last (`C` of 1, 3 or 4 channels after
/// larger spatial sizes): convkit is channels-first, as libtorch.
pub fn channels_last_hint(shape: &[i64]) -> &'static str {
    match shape {
        [a, b, c] if [1, 3, 4].contains(c) && *a > 4 && *b > 4 => {
            " (convkit is channels-first, NCHW: this looks like (height, width, channels); \
             give (channels, height, width), e.g. permute images with [0, 3, 1, 2])"
        }
        _ => "",
    }
}

/// Formats a shape without batch dimension Keras style: `[32, 26, 26]` -> `(None, 32, 26, 26)`.
pub fn shape_string(shape: &[i64]) -> String {
    let mut s = String::from("(None");
    for d in shape {
        s.push_str(&format!(", {d}"));
    }
    s.push(')');
    s
}

/// Formats a full shape (with batch dimension): `(64, 1, 28, 28)`.
pub fn full_shape_string(shape: &[i64]) -> String {
    let inner: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    if inner.len() == 1 {
        format!("({},)", inner[0])
    } else {
        format!("({})", inner.join(", "))
    }
}

/// The first problems of a list, and how many more there are: a file of another network
/// differs in every one of its hundreds of weights, and one line should stay readable.
fn summarize(problems: &[String]) -> String {
    const SHOWN: usize = 8;
    let mut text = problems
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join("; ");
    if problems.len() > SHOWN {
        text.push_str(&format!("; and {} more", problems.len() - SHOWN));
    }
    text
}
