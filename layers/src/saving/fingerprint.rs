//! [`model_fingerprint`]: an MD5 digest of a model's architecture and weights, so caches of
//! its outputs (feature caches) can tell whether they are still valid.

use convkit_tensor::fingerprint::Fingerprint;

use crate::{Model, Result};

/// MD5 hex digest of the architecture JSON and of every weight's name, shape and values.
pub fn model_fingerprint(model: &dyn Model) -> Result<String> {
    let mut f = Fingerprint::new();
    f.bytes(model.architecture().to_string().as_bytes());
    for (name, p) in model.named_params() {
        f.bytes(name.as_bytes());
        f.bytes(format!("{:?}", p.tensor.size()).as_bytes());
        f.tensor_values(&p.tensor)?;
    }
    Ok(f.hex())
}
