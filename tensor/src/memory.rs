//! A memory budget checked before large allocations: sizes that come from a user's file or
//! options (an IDX header, a `model.json` asking for 10¹² filters, `--scenes` × `--size`²)
//! are multiplied with overflow checked and compared with the memory the machine has, so
//! that they fail with a message instead of an allocator abort or a libtorch trace.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Error, Result};

/// A cap set by [`set_memory_limit`]; `u64::MAX` when none.
static LIMIT: AtomicU64 = AtomicU64::new(u64::MAX);

/// Caps the memory budget of this process at `bytes` (`None`: the machine's memory). Fuzzing
/// and tests set it low; a program sharing a machine can set its share.
pub fn set_memory_limit(bytes: Option<u64>) {
    LIMIT.store(bytes.unwrap_or(u64::MAX), Ordering::Relaxed);
}

/// Memory the machine can give now, in bytes (`MemAvailable` of `/proc/meminfo`; 8 GiB where
/// it cannot be read), at most the limit of [`set_memory_limit`].
pub fn available_memory() -> u64 {
    machine_memory().min(LIMIT.load(Ordering::Relaxed))
}

fn machine_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            kib.checked_mul(1024)
        })
        .unwrap_or(8 << 30)
}

/// The product of `factors` and `bytes_per_element`, or `None` when it overflows `u64` (or a
/// factor is negative).
pub fn bytes_for(factors: &[i64], bytes_per_element: u64) -> Option<u64> {
    factors.iter().try_fold(bytes_per_element, |acc, &n| {
        acc.checked_mul(u64::try_from(n).ok()?)
    })
}

/// Fails unless a buffer of `factors` × `bytes_per_element` bytes fits in the memory
/// available; `what` names it in the message (`conv2d kernel [3, 3, 1, 1000000000000]`).
pub fn check_allocation(what: &str, factors: &[i64], bytes_per_element: u64) -> Result<()> {
    let available = available_memory();
    match bytes_for(factors, bytes_per_element) {
        Some(n) if n <= available => Ok(()),
        needed => Err(Error::Invalid(format!(
            "{what} needs {} of memory, more than the {} available",
            needed.map_or_else(|| "more than 16 EiB".to_owned(), gib),
            gib(available)
        ))),
    }
}

/// `bytes` as GiB with one decimal.
pub fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_overflow_to_none_and_budgets_refuse() {
        assert_eq!(bytes_for(&[2, 3], 4), Some(24));
        assert_eq!(bytes_for(&[1 << 31, 1 << 31, 4], 1 << 4), None);
        assert_eq!(bytes_for(&[-1, 3], 4), None);
        assert!(check_allocation("small", &[16, 16], 4).is_ok());
        let e = check_allocation("kernel [3, 3, 1, 1e12]", &[3, 3, 1, 1_000_000_000_000], 4)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("kernel [3, 3, 1, 1e12] needs 33527.6 GiB"),
            "{e}"
        );
        let e = check_allocation("huge", &[i64::MAX, 4], 4)
            .unwrap_err()
            .to_string();
        assert!(e.contains("more than 16 EiB"), "{e}");
    }
}
