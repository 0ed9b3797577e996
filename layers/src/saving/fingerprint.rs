//! [`model_fingerprint`]: an MD5 digest of a model's architecture and weights, so caches of
//! its outputs (feature caches) can tell whether they are still valid.

use convkit_tensor::tch::{Device, Kind};
use md5::{Digest, Md5};

use crate::{Model, Result};

/// MD5 hex digest of the architecture JSON and of every weight's name, shape and values.
pub fn model_fingerprint(model: &dyn Model) -> Result<String> {
    let mut h = Md5::new();
    h.update(model.architecture().to_string().as_bytes());
    for (name, p) in model.named_params() {
        h.update(name.as_bytes());
        h.update(format!("{:?}", p.tensor.size()).as_bytes());
        let t = p
            .tensor
            .f_detach()?
            .f_to_device(Device::Cpu)?
            .f_to_kind(Kind::Float)?
            .f_flatten(0, -1)?;
        let v: Vec<f32> = Vec::<f32>::try_from(&t)?;
        for x in v {
            h.update(x.to_le_bytes());
        }
    }
    Ok(format!("{:x}", h.finalize()))
}
