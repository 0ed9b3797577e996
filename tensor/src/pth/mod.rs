//! A pure-Rust reader for PyTorch state-dict files (`torch.save(model.state_dict(), f)`).
//!
//! Both on-disk formats are read: the zip format that `torch.save` writes by default since
//! PyTorch 1.6, and the legacy stream format written before that (and with
//! `_use_new_zipfile_serialization=False`). The pickle inside is read by a restricted
//! unpickler that executes nothing and accepts only the globals a state dict needs
//! (`collections.OrderedDict`, the `torch._utils` tensor/parameter rebuild functions and the
//! typed storage classes such as `torch.FloatStorage`); anything else is refused with an
//! error naming the global and the entry it appears under.
//!
//! [`read_state_dict`] gives libtorch tensors; [`read_raw_state_dict`] gives the raw bytes.
//!
//! ```no_run
//! let tensors = convkit_tensor::pth::read_state_dict(std::path::Path::new("model.pth"))?;
//! for (name, t) in &tensors {
//!     println!("{name}: {:?}", t.size());
//! }
//! # Ok::<(), convkit_tensor::pth::PthError>(())
//! ```

mod error;
mod legacy;
mod pickle;
mod tensor;
mod zip_format;

use std::path::Path;

pub use error::PthError;
pub use tensor::{DType, RawTensor};

use pickle::Value;
use tensor::TensorRef;

/// Reads every tensor of a state-dict file, in file order.
///
/// The top-level object may be the state dict itself or a checkpoint dict holding it under
/// `state_dict` or `model`. Tensors are returned contiguous, with their views applied.
pub fn read_raw_state_dict(path: &Path) -> Result<Vec<(String, RawTensor)>, PthError> {
    let origin = path.display().to_string();
    let io = |source| PthError::Io {
        origin: origin.clone(),
        source,
    };
    let (mut file, _) = crate::files::open_regular_file(path).map_err(|e| match e {
        crate::Error::Io { source, .. } => io(source),
        other => io(std::io::Error::other(other.to_string())),
    })?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut file, &mut bytes).map_err(io)?;
    read_raw_state_dict_bytes(&bytes, &origin)
}

/// Reads every tensor of a state dict held in memory; `origin` names it in error messages.
pub fn read_raw_state_dict_bytes(
    bytes: &[u8],
    origin: &str,
) -> Result<Vec<(String, RawTensor)>, PthError> {
    if zip_format::looks_like_zip(bytes) {
        return zip_format::read(bytes, origin);
    }
    if legacy::looks_like_legacy(bytes) {
        return legacy::read(bytes, origin);
    }
    let reason = if bytes.get(257..262) == Some(b"ustar".as_slice()) {
        "a tar archive: the tar format of PyTorch before 0.4 is not supported".to_owned()
    } else if bytes.is_empty() {
        "the file is empty".to_owned()
    } else {
        let head: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
        format!(
            "neither a zip archive nor a legacy torch.save stream; starts with {}",
            head.join(" ")
        )
    };
    Err(PthError::not_state_dict(origin, reason))
}

/// The tensor entries of the state dict held by the file's top-level object, in order.
pub(crate) fn state_dict_entries(
    origin: &str,
    root: Value,
) -> Result<Vec<(String, TensorRef)>, PthError> {
    let Value::Dict(pairs) = root else {
        return Err(PthError::malformed(
            origin,
            format!("the top-level object is {}, not a dict", root.type_name()),
        ));
    };
    // A checkpoint dict holding the state dict.
    let inner = ["state_dict", "model"].iter().find_map(|name| {
        pairs
            .iter()
            .position(|(k, v)| matches!((k, v), (Value::Str(s), Value::Dict(_)) if s == name))
    });
    let pairs = match inner {
        Some(i) => match pairs.into_iter().nth(i) {
            Some((_, Value::Dict(inner))) => inner,
            _ => Vec::new(),
        },
        None => pairs,
    };
    let mut out = Vec::with_capacity(pairs.len());
    for (k, v) in pairs {
        let key = match k {
            Value::Str(s) => s,
            other => {
                return Err(PthError::malformed(
                    origin,
                    format!("a state dict key is {}, not a string", other.type_name()),
                ))
            }
        };
        match v {
            Value::Tensor(t) => out.push((key, t)),
            other => {
                return Err(PthError::NotATensor {
                    origin: origin.to_owned(),
                    key,
                    found: other.type_name(),
                })
            }
        }
    }
    Ok(out)
}

/// Reads every tensor of a state-dict file as CPU libtorch tensors, in file order.
pub fn read_state_dict(path: &Path) -> Result<Vec<(String, tch::Tensor)>, PthError> {
    let origin = path.display().to_string();
    read_raw_state_dict(path)?
        .into_iter()
        .map(|(key, raw)| {
            let t = to_tch(&raw).map_err(|e| {
                PthError::malformed(&origin, format!("tensor `{key}`: libtorch refused it: {e}"))
            })?;
            Ok((key, t))
        })
        .collect()
}

/// A raw tensor as a CPU libtorch tensor.
pub fn to_tch(raw: &RawTensor) -> Result<tch::Tensor, tch::TchError> {
    let kind = match raw.dtype {
        DType::F32 => tch::Kind::Float,
        DType::F64 => tch::Kind::Double,
        DType::F16 => tch::Kind::Half,
        DType::BF16 => tch::Kind::BFloat16,
        DType::I64 => tch::Kind::Int64,
        DType::I32 => tch::Kind::Int,
        DType::I16 => tch::Kind::Int16,
        DType::I8 => tch::Kind::Int8,
        DType::U8 => tch::Kind::Uint8,
        DType::Bool => tch::Kind::Bool,
    };
    let shape: Vec<i64> = raw.shape.iter().map(|&n| n as i64).collect();
    tch::Tensor::f_from_data_size(&raw.data, &shape, kind)
}
