//! Saving and loading optimizer state as safetensors, atomically (temporary file + rename).

use std::path::Path;

use convkit_tensor::tch::Tensor;

use crate::{Error, Optimizer, Result};

/// Writes the optimizer's state to `path` (safetensors), through a temporary file and a rename
/// so that a crash never leaves a half-written file.
pub fn save_state(opt: &dyn Optimizer, path: &Path) -> Result<()> {
    let state = opt.state()?;
    let named: Vec<(&str, Tensor)> = state
        .iter()
        .map(|(n, t)| {
            Ok((
                n.as_str(),
                t.f_to_device(convkit_tensor::tch::Device::Cpu)?
                    .f_contiguous()?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    convkit_tensor::atomic::write_atomic(path, |tmp| -> Result<()> {
        Ok(Tensor::write_safetensors(&named, tmp)?)
    })
}

/// Restores the optimizer's state from `path` for the parameters `params`.
pub fn load_state(opt: &mut dyn Optimizer, params: &[Tensor], path: &Path) -> Result<()> {
    if let Err(e) = convkit_tensor::files::check_regular_file(path) {
        return Err(Error::State {
            what: path.display().to_string(),
            expected: "a safetensors file written by save_state".into(),
            found: e.to_string(),
        });
    }
    let state = Tensor::read_safetensors(path).map_err(|e| Error::State {
        what: path.display().to_string(),
        expected: "a safetensors file written by save_state".into(),
        found: e.to_string(),
    })?;
    opt.load_state(params, state)
}
