//! [`WyRand`]: a small, fast generator for per-pixel noise, seeded from the caller's stream
//! (so it inherits its determinism) and cheap enough for tens of thousands of draws per image.

use rand::RngCore;

/// The wyrand generator (64-bit state, one multiply per draw).
#[derive(Debug, Clone)]
pub struct WyRand(u64);

impl WyRand {
    /// Seeds from another generator.
    pub fn from_rng(rng: &mut dyn RngCore) -> Self {
        WyRand(rng.next_u64())
    }
}

impl RngCore for WyRand {
    #[inline]
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0xa076_1d64_78bd_642f);
        let t = u128::from(self.0) * u128::from(self.0 ^ 0xe703_7ed1_a0b4_28db);
        ((t >> 64) ^ t) as u64
    }
    #[inline]
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
