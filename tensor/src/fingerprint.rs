//! MD5 fingerprints: of downloaded bytes ([`md5_hex`]), of a list of parts such as a data
//! set's file names and sizes ([`of_parts`]), and of tensors such as a model's weights
//! ([`Fingerprint`]), so that caches can tell whether what produced them has changed.

use md5::{Digest, Md5};

use crate::{Result, Tensor};

/// MD5 of `bytes` as lowercase hex.
pub fn md5_hex(bytes: &[u8]) -> String {
    let mut f = Fingerprint::new();
    f.bytes(bytes);
    f.hex()
}

/// MD5 of `parts`, each prefixed with its length (so `["ab", "c"]` and `["a", "bc"]`
/// differ), as lowercase hex.
pub fn of_parts(parts: &[&[u8]]) -> String {
    let mut f = Fingerprint::new();
    for p in parts {
        f.part(p);
    }
    f.hex()
}

/// An MD5 digest built piece by piece.
#[derive(Debug, Clone, Default)]
pub struct Fingerprint(Md5);

impl Fingerprint {
    /// An empty digest.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `bytes` as they are.
    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.update(bytes);
        self
    }

    /// Adds `bytes` prefixed with their length.
    pub fn part(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    /// Adds a tensor's values, as little-endian `f32`, read on the CPU.
    pub fn tensor_values(&mut self, t: &Tensor) -> Result<&mut Self> {
        let flat = t
            .f_detach()?
            .f_to_device(tch::Device::Cpu)?
            .f_to_kind(tch::Kind::Float)?
            .f_flatten(0, -1)?;
        for x in Vec::<f32>::try_from(&flat)? {
            self.0.update(x.to_le_bytes());
        }
        Ok(self)
    }

    /// The digest as lowercase hex.
    pub fn hex(self) -> String {
        format!("{:x}", self.0.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        // md5 of "" and of "abc" (RFC 1321's test suite).
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_ne!(of_parts(&[b"ab", b"c"]), of_parts(&[b"a", b"bc"]));
    }
}
