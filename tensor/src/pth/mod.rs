//! Reading PyTorch state dicts (`torch.save(model.state_dict(), path)`) natively: both the
//! zip format (PyTorch >= 1.6) and the legacy format, through a restricted unpickler that
//! executes nothing. Objects other than tensors and containers are refused with the
//! state-dict key they sit under.
//!
//! # Example
//! ```no_run
//! let tensors = convkit_tensor::pth::read_state_dict("vgg16.pth".as_ref()).unwrap();
//! for (name, t) in &tensors {
//!     println!("{name}: {:?}", t.size());
//! }
//! ```

mod dtype;
mod pickle;

use std::io::Read;
use std::path::Path;

pub use dtype::DType;
use pickle::{TensorView, Unpickler, Value};

/// Errors reading a `.pth` file; each names the file and, where it applies, the tensor.
#[derive(Debug, thiserror::Error)]
pub enum PthError {
    /// The file could not be read.
    #[error("{origin}: {source}")]
    Io {
        /// The file.
        origin: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Neither a zip archive nor a legacy PyTorch pickle.
    #[error("{origin}: not a PyTorch state dict ({problem})")]
    NotPytorch {
        /// The file.
        origin: String,
        /// What was found.
        problem: String,
    },
    /// The file ends before the data it announces.
    #[error("{origin}: truncated file: {what} needs {expected} bytes, {available} available")]
    Truncated {
        /// The file.
        origin: String,
        /// The record or tensor cut short.
        what: String,
        /// Bytes needed.
        expected: u64,
        /// Bytes there.
        available: u64,
    },
    /// Something this reader refuses (an object that is not a tensor, an unknown opcode).
    #[error("{origin}: {what}")]
    Unsupported {
        /// The file.
        origin: String,
        /// What was refused.
        what: String,
    },
    /// Inconsistent structure.
    #[error("{origin}: malformed state dict: {problem}")]
    Malformed {
        /// The file.
        origin: String,
        /// What is wrong.
        problem: String,
    },
    /// libtorch refused the tensor data.
    #[error("{origin}: tensor '{key}': {source}")]
    Torch {
        /// The file.
        origin: String,
        /// The tensor.
        key: String,
        /// The libtorch error.
        source: tch::TchError,
    },
}

/// Legacy files start with this number (`torch.serialization.MAGIC_NUMBER`).
const LEGACY_MAGIC: i64 = 0x1950a86a20f9469cfc6c_i128 as i64;

/// Reads every tensor of a state dict, in file order, as CPU tensors.
pub fn read_state_dict(path: &Path) -> Result<Vec<(String, tch::Tensor)>, PthError> {
    let origin = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| PthError::Io {
        origin: origin.clone(),
        source,
    })?;
    read_state_dict_bytes(&bytes, &origin)
}

/// [`read_state_dict`] on bytes in memory; `origin` names them in errors.
pub fn read_state_dict_bytes(
    bytes: &[u8],
    origin: &str,
) -> Result<Vec<(String, tch::Tensor)>, PthError> {
    if bytes.starts_with(b"PK") {
        read_zip(bytes, origin)
    } else if bytes.first() == Some(&0x80) {
        read_legacy(bytes, origin)
    } else {
        Err(PthError::NotPytorch {
            origin: origin.into(),
            problem: "the file is neither a zip archive nor a pickle".into(),
        })
    }
}

fn read_zip(bytes: &[u8], origin: &str) -> Result<Vec<(String, tch::Tensor)>, PthError> {
    let entries = zip_entries(bytes, origin)?;
    let pkl_name = entries
        .keys()
        .find(|n| n.ends_with("/data.pkl") || n.as_str() == "data.pkl")
        .cloned()
        .ok_or_else(|| PthError::NotPytorch {
            origin: origin.into(),
            problem: "the zip archive has no data.pkl (a truncated file?)".into(),
        })?;
    let prefix = pkl_name.trim_end_matches("data.pkl").to_string();
    let value = Unpickler::new(&entries[&pkl_name], origin).load()?;
    let views = top_level_entries(value, origin)?;
    let mut out = Vec::with_capacity(views.len());
    for (key, view) in views {
        let name = format!("{prefix}data/{}", view.key);
        let storage = entries.get(&name).ok_or_else(|| PthError::Truncated {
            origin: origin.into(),
            what: format!("tensor '{key}' (its zip entry '{name}' is missing)"),
            expected: (view.storage_numel * view.dtype.size_bytes()) as u64,
            available: 0,
        })?;
        out.push((key.clone(), materialize(&key, &view, storage, origin)?));
    }
    Ok(out)
}

/// Every entry of the archive. When the central directory is gone (a truncated download),
/// the local headers are walked instead, keeping what each entry still has, so that the
/// error can name the tensor whose data is cut.
fn zip_entries(
    bytes: &[u8],
    origin: &str,
) -> Result<std::collections::HashMap<String, Vec<u8>>, PthError> {
    let mut out = std::collections::HashMap::new();
    if let Ok(mut archive) = zip::ZipArchive::new(std::io::Cursor::new(bytes)) {
        for i in 0..archive.len() {
            let mut f = archive.by_index(i).map_err(|e| PthError::Malformed {
                origin: origin.into(),
                problem: format!("zip entry {i}: {e}"),
            })?;
            let mut buf = Vec::new();
            let name = f.name().to_string();
            let _ = f.read_to_end(&mut buf);
            out.insert(name, buf);
        }
        return Ok(out);
    }
    // Local file headers: signature, 26 bytes of fields, name, extra field, stored data.
    let mut pos = 0usize;
    let u16_at = |p: usize| {
        bytes
            .get(p..p + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let u32_at = |p: usize| {
        bytes
            .get(p..p + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    while u32_at(pos) == Some(0x0403_4b50) {
        let (Some(flags), Some(method), Some(size), Some(name_len), Some(extra_len)) = (
            u16_at(pos + 6),
            u16_at(pos + 8),
            u32_at(pos + 18),
            u16_at(pos + 26),
            u16_at(pos + 28),
        ) else {
            break;
        };
        let name_start = pos + 30;
        let Some(name) = bytes.get(name_start..name_start + name_len) else {
            break;
        };
        let name = String::from_utf8_lossy(name).into_owned();
        let data_start = name_start + name_len + extra_len;
        if method != 0 || data_start > bytes.len() {
            break;
        }
        // PyTorch's writer puts the sizes in a data descriptor after the data
        // (`PK\x07\x08`, crc, compressed size, size): find the one whose size fits.
        let size = if flags & 8 != 0 && size == 0 {
            let descriptor = (data_start..bytes.len().saturating_sub(16))
                .find(|&q| u32_at(q) == Some(0x0807_4b50) && u32_at(q + 8) == Some(q - data_start));
            match descriptor {
                Some(q) => q - data_start,
                None => usize::MAX,
            }
        } else {
            size
        };
        let end = data_start.saturating_add(size).min(bytes.len());
        out.insert(name, bytes[data_start..end].to_vec());
        if size == usize::MAX || end < data_start + size {
            break;
        }
        pos = if flags & 8 != 0 { end + 16 } else { end };
    }
    if out.is_empty() {
        return Err(PthError::NotPytorch {
            origin: origin.into(),
            problem: "unreadable zip archive".into(),
        });
    }
    Ok(out)
}

fn read_legacy(bytes: &[u8], origin: &str) -> Result<Vec<(String, tch::Tensor)>, PthError> {
    let mut offset = 0;
    let mut next = |what: &str| -> Result<Value, PthError> {
        let rest = bytes.get(offset..).unwrap_or(&[]);
        let mut u = Unpickler::new(rest, origin);
        let v = u.load().map_err(|e| match e {
            PthError::Truncated { .. } => PthError::Truncated {
                origin: origin.into(),
                what: what.into(),
                expected: 1,
                available: 0,
            },
            other => other,
        })?;
        offset += u.position();
        Ok(v)
    };
    if next("the magic number")? != Value::Int(LEGACY_MAGIC) {
        return Err(PthError::NotPytorch {
            origin: origin.into(),
            problem: "a pickle without PyTorch's magic number".into(),
        });
    }
    match next("the protocol version")? {
        Value::Int(1001) => {}
        other => {
            return Err(PthError::Unsupported {
                origin: origin.into(),
                what: format!("legacy protocol version {other:?} (expected 1001)"),
            })
        }
    }
    next("the system information")?;
    let main = next("the state dict pickle")?;
    let keys = match next("the storage key list")? {
        Value::List(k) => k,
        _ => {
            return Err(PthError::Malformed {
                origin: origin.into(),
                problem: "the storage key list is not a list".into(),
            })
        }
    };
    let entries = top_level_entries(main, origin)?;
    // Storage records follow, in key-list order: u64 element count, then the raw elements.
    let mut storages: std::collections::HashMap<String, &[u8]> = Default::default();
    let dtype_of = |k: &str| {
        entries
            .iter()
            .find(|(_, v)| v.key == k)
            .map(|(_, v)| v.dtype)
    };
    for k in keys {
        let key = match k {
            Value::Str(s) => s,
            Value::Int(i) => i.to_string(),
            _ => {
                return Err(PthError::Malformed {
                    origin: origin.into(),
                    problem: "a storage key is not a string".into(),
                })
            }
        };
        let owner = entries
            .iter()
            .find(|(_, v)| v.key == key)
            .map(|(n, _)| n.clone())
            .unwrap_or_else(|| format!("storage {key}"));
        let truncated = |expected: u64, available: u64| PthError::Truncated {
            origin: origin.into(),
            what: format!("tensor '{owner}'"),
            expected,
            available,
        };
        let header = bytes
            .get(offset..offset + 8)
            .ok_or_else(|| truncated(8, bytes.len().saturating_sub(offset) as u64))?;
        let mut a = [0u8; 8];
        a.copy_from_slice(header);
        let numel = u64::from_le_bytes(a);
        offset += 8;
        let elem = dtype_of(&key).map_or(1, |d| d.size_bytes()) as u64;
        let len = numel
            .checked_mul(elem)
            .ok_or_else(|| truncated(u64::MAX, 0))?;
        let available = bytes.len().saturating_sub(offset) as u64;
        if len > available {
            return Err(truncated(len, available));
        }
        let len = len as usize;
        storages.insert(key, &bytes[offset..offset + len]);
        offset += len;
    }
    let mut out = Vec::with_capacity(entries.len());
    for (key, view) in &entries {
        let storage = storages.get(&view.key).ok_or_else(|| PthError::Truncated {
            origin: origin.into(),
            what: format!("tensor '{key}' (storage {} missing)", view.key),
            expected: (view.storage_numel * view.dtype.size_bytes()) as u64,
            available: 0,
        })?;
        out.push((key.clone(), materialize(key, view, storage, origin)?));
    }
    Ok(out)
}

/// The `(key, tensor view)` pairs of the top-level dict (or of its `state_dict` entry).
fn top_level_entries(value: Value, origin: &str) -> Result<Vec<(String, TensorView)>, PthError> {
    let dict = match value {
        Value::Dict(d) => d,
        Value::Refused(g) => {
            return Err(PthError::Unsupported {
                origin: origin.into(),
                what: format!(
                    "the file holds an object built by {g}, not a state dict (refused; nothing from the pickle is executed)"
                ),
            })
        }
        other => {
            return Err(PthError::Malformed {
                origin: origin.into(),
                problem: format!("the top-level object is {}, not a dict", kind_of(&other)),
            })
        }
    };
    let nested = dict.iter().find_map(|(k, v)| match (k, v) {
        (Value::Str(k), Value::Dict(_)) if k == "state_dict" || k == "model" => Some(v.clone()),
        _ => None,
    });
    if let Some(inner) = nested {
        return top_level_entries(inner, origin);
    }
    let mut out = Vec::with_capacity(dict.len());
    for (k, v) in dict {
        let key = match k {
            Value::Str(s) => s,
            other => {
                return Err(PthError::Malformed {
                    origin: origin.into(),
                    problem: format!("a key is {}, not a string", kind_of(&other)),
                })
            }
        };
        match v {
            Value::Tensor(t) => out.push((key, t)),
            Value::Refused(g) => {
                return Err(PthError::Unsupported {
                    origin: origin.into(),
                    what: format!(
                        "tensor '{key}': holds an object built by {g}, which is not allowed in a state dict (refused; nothing from the pickle is executed)"
                    ),
                })
            }
            other => {
                return Err(PthError::Unsupported {
                    origin: origin.into(),
                    what: format!("tensor '{key}': expected a tensor, found {}", kind_of(&other)),
                })
            }
        }
    }
    Ok(out)
}

fn kind_of(v: &Value) -> String {
    match v {
        Value::None => "None".into(),
        Value::Bool(_) => "a bool".into(),
        Value::Int(_) => "an int".into(),
        Value::Float(_) => "a float".into(),
        Value::Str(_) => "a string".into(),
        Value::Bytes(_) => "bytes".into(),
        Value::Tuple(_) => "a tuple".into(),
        Value::List(_) => "a list".into(),
        Value::Dict(_) => "a dict".into(),
        Value::Global(g) => format!("the global {g}"),
        Value::Storage { .. } => "a bare storage".into(),
        Value::Tensor(_) => "a tensor".into(),
        Value::Refused(g) => format!("an object built by {g}"),
    }
}

/// Copies a (possibly strided) view out of its storage into a contiguous CPU tensor.
fn materialize(
    key: &str,
    view: &TensorView,
    storage: &[u8],
    origin: &str,
) -> Result<tch::Tensor, PthError> {
    let elem = view.dtype.size_bytes();
    let storage_elems = storage.len() / elem;
    if storage_elems < view.storage_numel {
        return Err(PthError::Truncated {
            origin: origin.into(),
            what: format!("tensor '{key}'"),
            expected: (view.storage_numel * elem) as u64,
            available: storage.len() as u64,
        });
    }
    let numel: usize = view.shape.iter().product();
    let mut data = Vec::with_capacity(numel * elem);
    if numel > 0 {
        let last = view
            .shape
            .iter()
            .zip(&view.strides)
            .map(|(&n, &s)| (n - 1).checked_mul(s))
            .try_fold(view.offset, |acc, x| x.and_then(|x| acc.checked_add(x)));
        match last {
            Some(l) if l < storage_elems => {}
            _ => {
                return Err(PthError::Malformed {
                    origin: origin.into(),
                    problem: format!(
                        "tensor '{key}': its view (offset {}, shape {:?}, strides {:?}) lies outside its storage of {} elements",
                        view.offset, view.shape, view.strides, storage_elems
                    ),
                })
            }
        }
        let contiguous = {
            let mut expected = 1usize;
            let mut ok = true;
            for (&n, &st) in view.shape.iter().zip(&view.strides).rev() {
                if n > 1 && st != expected {
                    ok = false;
                }
                expected *= n;
            }
            ok
        };
        let mut idx = vec![0usize; view.shape.len()];
        if contiguous {
            data.extend_from_slice(&storage[view.offset * elem..(view.offset + numel) * elem]);
        }
        for _ in 0..if contiguous { 0 } else { numel } {
            let src: usize = view.offset
                + idx
                    .iter()
                    .zip(&view.strides)
                    .map(|(i, s)| i * s)
                    .sum::<usize>();
            data.extend_from_slice(&storage[src * elem..(src + 1) * elem]);
            for d in (0..idx.len()).rev() {
                idx[d] += 1;
                if idx[d] < view.shape[d] {
                    break;
                }
                idx[d] = 0;
            }
        }
    }
    let shape: Vec<i64> = view.shape.iter().map(|&n| n as i64).collect();
    tch::Tensor::f_from_data_size(&data, &shape, view.dtype.kind()).map_err(|source| {
        PthError::Torch {
            origin: origin.into(),
            key: key.into(),
            source,
        }
    })
}
