//! The checked range of every numeric option. Each count, size, rate and thread option is
//! parsed through one of these, so a value outside its range is refused by the parser, before
//! any work, with the range in the message (`invalid value '0' for '--size <SIZE>': 0 is not
//! in 8..=2048`). Products of options (images × pixels) are checked against the memory the
//! machine has with [`check_memory`] before anything is allocated.

use clap::builder::{RangedI64ValueParser, RangedU64ValueParser};

/// Most epochs of one run.
pub const MAX_EPOCHS: u64 = 100_000;
/// Largest batch.
pub const MAX_BATCH: u64 = 65_536;
/// Most libtorch threads (0: one per core).
pub const MAX_TORCH_THREADS: u64 = 1_024;
/// Most image-loading threads.
pub const MAX_LOADER_THREADS: u64 = 256;

/// A whole number in `lo..=hi`.
pub fn count(lo: u64, hi: u64) -> RangedU64ValueParser<usize> {
    RangedU64ValueParser::<usize>::new().range(lo..=hi)
}

/// A signed whole number in `lo..=hi`.
pub fn int(lo: i64, hi: i64) -> RangedI64ValueParser<i64> {
    RangedI64ValueParser::<i64>::new().range(lo..=hi)
}

/// Epochs: 1 to [`MAX_EPOCHS`].
pub fn epochs() -> RangedU64ValueParser<usize> {
    count(1, MAX_EPOCHS)
}

/// Epochs where 0 skips the phase: 0 to [`MAX_EPOCHS`].
pub fn epochs_or_none() -> RangedU64ValueParser<usize> {
    count(0, MAX_EPOCHS)
}

/// A batch size: 1 to [`MAX_BATCH`].
pub fn batch_size() -> RangedU64ValueParser<usize> {
    count(1, MAX_BATCH)
}

/// libtorch threads: 0 (one per core) to [`MAX_TORCH_THREADS`].
pub fn torch_threads() -> RangedU64ValueParser<usize> {
    count(0, MAX_TORCH_THREADS)
}

/// Image-loading threads: 0 (load on the training thread) to [`MAX_LOADER_THREADS`].
pub fn loader_threads() -> RangedU64ValueParser<usize> {
    count(0, MAX_LOADER_THREADS)
}

/// The side of a square model input, `lo` (the smallest the network can shrink to one
/// pixel) to 1024.
pub fn input_side(lo: i64) -> RangedI64ValueParser<i64> {
    int(lo, 1_024)
}

/// The side of a picture or tile: 8 to 2048.
pub fn picture_side() -> RangedU64ValueParser<usize> {
    count(8, 2_048)
}

/// A finite number in `[lo, hi]` (`lo_open`: in `(lo, hi]`; `hi_open`: in `[lo, hi)`).
#[derive(Clone, Copy, Debug)]
pub struct FloatRange {
    lo: f64,
    hi: f64,
    lo_open: bool,
    hi_open: bool,
}

impl FloatRange {
    /// `[lo, hi]`.
    pub fn closed(lo: f64, hi: f64) -> Self {
        FloatRange {
            lo,
            hi,
            lo_open: false,
            hi_open: false,
        }
    }

    /// `(lo, hi]`.
    pub fn above(lo: f64, hi: f64) -> Self {
        FloatRange {
            lo_open: true,
            ..Self::closed(lo, hi)
        }
    }

    /// `[lo, hi)`.
    pub fn below(lo: f64, hi: f64) -> Self {
        FloatRange {
            hi_open: true,
            ..Self::closed(lo, hi)
        }
    }

    /// Whether `v` lies in the range (never for NaN or an infinity).
    pub fn contains(&self, v: f64) -> bool {
        let above = if self.lo_open {
            v > self.lo
        } else {
            v >= self.lo
        };
        let below = if self.hi_open {
            v < self.hi
        } else {
            v <= self.hi
        };
        v.is_finite() && above && below
    }

    /// The parser clap calls.
    pub fn parser(self) -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync + 'static {
        move |s: &str| {
            let v: f64 = s
                .trim()
                .parse()
                .map_err(|_| format!("`{s}` is not a number"))?;
            if self.contains(v) {
                Ok(v)
            } else {
                Err(format!("{v} is not in {self}"))
            }
        }
    }
}

impl std::fmt::Display for FloatRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let open = if self.lo_open { '(' } else { '[' };
        let close = if self.hi_open { ')' } else { ']' };
        write!(f, "{open}{}, {}{close}", self.lo, self.hi)
    }
}

/// A learning rate: in (0, 10].
pub fn learning_rate() -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync + 'static {
    FloatRange::above(0.0, 10.0).parser()
}

/// A fraction in [0, 1).
pub fn fraction() -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync + 'static {
    FloatRange::below(0.0, 1.0).parser()
}

/// Refuses, before anything is allocated, work whose buffers need more than the memory
/// available: `what` names the options (`--count 64 at --size 2048`), `elements` and
/// `bytes_per_element` the buffers they make (multiplied with overflow checked).
pub fn check_memory(what: &str, elements: &[u64], bytes_per_element: u64) -> anyhow::Result<()> {
    let factors: Vec<i64> = elements
        .iter()
        .map(|&n| i64::try_from(n).unwrap_or(i64::MAX))
        .collect();
    convkit_tensor::memory::check_allocation(what, &factors, bytes_per_element)
        .map_err(|e| anyhow::anyhow!("{e}; choose smaller values"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_ranges_refuse_non_finite_and_outside_values() {
        let lr = learning_rate();
        assert_eq!(lr("0.001"), Ok(0.001));
        for bad in ["nan", "inf", "-inf", "0", "-1", "11", "x"] {
            let e = lr(bad).unwrap_err();
            assert!(
                e.contains("(0, 10]") || e.contains("not a number"),
                "{bad}: {e}"
            );
        }
        let f = fraction();
        assert_eq!(f("0"), Ok(0.0));
        assert!(f("1").unwrap_err().contains("[0, 1)"));
    }

    #[test]
    fn memory_checks_overflow_and_budget() {
        assert!(check_memory("tiny", &[2, 3], 4).is_ok());
        let e = check_memory("--count 9 at --size 9", &[u64::MAX, 4], 1).unwrap_err();
        assert!(e.to_string().contains("more than 16 EiB"), "{e}");
        let e = check_memory("--scenes 1e9", &[1 << 34], 4).unwrap_err();
        assert!(e.to_string().contains("--scenes 1e9 needs 64.0 GiB"), "{e}");
    }
}
