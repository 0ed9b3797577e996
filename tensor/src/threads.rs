//! The number of threads libtorch uses for one operation.

/// The environment variable read by [`from_env`].
pub const THREADS_ENV: &str = "CONVKIT_THREADS";

/// Sets libtorch's intra-op thread count (`0` leaves libtorch's default: one per core).
pub fn set_num_threads(n: usize) {
    if n > 0 {
        tch::set_num_threads(n as i32);
        tracing::debug!(threads = n, "libtorch intra-op threads set");
    }
}

/// The current libtorch intra-op thread count.
pub fn num_threads() -> usize {
    tch::get_num_threads().max(1) as usize
}

/// Applies `CONVKIT_THREADS` when set to a positive integer; returns the thread count in use.
pub fn from_env() -> usize {
    if let Some(n) = std::env::var(THREADS_ENV)
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
    {
        set_num_threads(n);
    }
    num_threads()
}
