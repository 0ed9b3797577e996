//! The error type of convkit-augment.

/// Errors raised by convkit-augment.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An option is outside the values it accepts.
    #[error("{transform}: option '{option}' {problem}")]
    InvalidOption {
        /// The transform (or layer) whose option is at fault.
        transform: &'static str,
        /// The option at fault.
        option: &'static str,
        /// What is wrong and what was expected.
        problem: String,
    },
    /// An image buffer does not match its declared size.
    #[error("image buffer of {actual} bytes does not match {height}x{width}x{channels}")]
    BufferSize {
        /// Declared height.
        height: usize,
        /// Declared width.
        width: usize,
        /// Declared channel count.
        channels: usize,
        /// Actual number of bytes.
        actual: usize,
    },
    /// A tensor or image has a shape the transform cannot take.
    #[error("{transform}: expected {expected}, got {actual}")]
    Shape {
        /// The transform at fault.
        transform: &'static str,
        /// What was expected.
        expected: String,
        /// What was received.
        actual: String,
    },
    /// libtorch raised an exception (batched transforms).
    #[error("libtorch: {0}")]
    Torch(#[from] convkit_tensor::tch::TchError),
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Checks that `lo <= hi` and both are finite, naming the option otherwise.
pub(crate) fn check_range(
    transform: &'static str,
    option: &'static str,
    (lo, hi): (f64, f64),
) -> Result<()> {
    if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
        return Err(Error::InvalidOption {
            transform,
            option,
            problem: format!("must be a finite range (low <= high), got ({lo}, {hi})"),
        });
    }
    Ok(())
}

/// Checks that a probability lies in [0, 1].
pub(crate) fn check_probability(
    transform: &'static str,
    option: &'static str,
    p: f64,
) -> Result<()> {
    if !(0.0..=1.0).contains(&p) {
        return Err(Error::InvalidOption {
            transform,
            option,
            problem: format!("must be a probability in [0, 1], got {p}"),
        });
    }
    Ok(())
}
