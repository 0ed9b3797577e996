//! One seed for everything random: libtorch's generator and every Rust random stream.
//!
//! [`set_seed`] seeds libtorch and records the seed; Rust code then derives independent,
//! reproducible streams with [`rng_for`]`(stream, index)`, so the randomness of, say, sample
//! 1234 of epoch 3 does not depend on how many threads ran before it.

use std::sync::atomic::{AtomicU64, Ordering};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The seed used when none was set.
pub const DEFAULT_SEED: u64 = 1337;

static SEED: AtomicU64 = AtomicU64::new(DEFAULT_SEED);

/// Seeds libtorch (CPU and CUDA) and records `seed` for [`rng_for`].
pub fn set_seed(seed: u64) {
    SEED.store(seed, Ordering::SeqCst);
    tch::manual_seed(seed as i64);
    tracing::debug!(seed, "seeded libtorch and convkit random streams");
}

/// The seed last given to [`set_seed`] (or [`DEFAULT_SEED`]).
pub fn seed() -> u64 {
    SEED.load(Ordering::SeqCst)
}

/// Mixes a seed with a stream name and an index into a new 64-bit seed (SplitMix64 finaliser).
pub fn derive(seed: u64, stream: &str, index: u64) -> u64 {
    let mut h = seed ^ 0x9E37_79B9_7F4A_7C15;
    for b in stream.bytes() {
        h = splitmix(h ^ u64::from(b));
    }
    splitmix(h ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03))
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A reproducible random stream for (`stream`, `index`) under the current seed.
pub fn rng_for(stream: &str, index: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(derive(seed(), stream, index))
}

/// Re-seeds libtorch's generator for (`stream`, `index`) under the current seed, e.g. at the
/// start of every epoch so that dropout masks of epoch `k` do not depend on earlier epochs
/// (this is what lets a resumed run end with the same weights as an uninterrupted one).
pub fn reseed_torch_for(stream: &str, index: u64) {
    tch::manual_seed((derive(seed(), stream, index) >> 1) as i64);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: u64 = ChaCha8Rng::seed_from_u64(derive(7, "shuffle", 3)).gen();
        let b: u64 = ChaCha8Rng::seed_from_u64(derive(7, "shuffle", 3)).gen();
        let c: u64 = ChaCha8Rng::seed_from_u64(derive(7, "shuffle", 4)).gen();
        let d: u64 = ChaCha8Rng::seed_from_u64(derive(8, "shuffle", 3)).gen();
        let e: u64 = ChaCha8Rng::seed_from_u64(derive(7, "augment", 3)).gen();
        assert_eq!(a, b);
        assert!(a != c && a != d && a != e);
    }

    #[test]
    fn set_seed_makes_torch_reproducible() {
        set_seed(42);
        let x = tch::Tensor::randn([4], (tch::Kind::Float, tch::Device::Cpu));
        set_seed(42);
        let y = tch::Tensor::randn([4], (tch::Kind::Float, tch::Device::Cpu));
        assert!(x.equal(&y));
    }
}
