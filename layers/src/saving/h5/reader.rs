//! Reading HDF5 files (Keras' `.h5` and `.weights.h5`) through the pure-Rust `hdf5-pure`
//! crate: groups, string-list attributes and float datasets as tensors. Every failure names
//! the file and the object; a dataset's size is checked against the file and the memory
//! available before anything is allocated.

use std::path::{Path, PathBuf};

use convkit_tensor::tch::Tensor;
use hdf5_pure::AttrValue;

use crate::{Error, Result};

/// An HDF5 file opened for reading.
pub struct H5Reader {
    path: PathBuf,
    file: hdf5_pure::File,
    size: u64,
}

impl std::fmt::Debug for H5Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H5Reader")
            .field("path", &self.path)
            .finish()
    }
}

impl H5Reader {
    /// Opens `path`; a missing file or one that is not HDF5 is an error naming it.
    pub fn open(path: &Path) -> Result<H5Reader> {
        let size = std::fs::metadata(path)
            .map_err(|e| Error::file(path, format!("cannot open: {e}")))?
            .len();
        let file = hdf5_pure::File::open_streaming(path).map_err(|e| {
            let truncated = if e.to_string().contains("EOF") {
                format!(" (it ends early: truncated? {size} bytes)")
            } else {
                String::new()
            };
            Error::file(path, format!("not a readable HDF5 file{truncated}: {e}"))
        })?;
        Ok(H5Reader {
            path: path.to_path_buf(),
            file,
            size,
        })
    }

    /// Reads an HDF5 file held in memory (a `.keras` archive's `model.weights.h5`); `origin`
    /// names it in errors.
    pub fn from_bytes(bytes: Vec<u8>, origin: &Path) -> Result<H5Reader> {
        let size = bytes.len() as u64;
        let file = hdf5_pure::File::from_bytes(bytes).map_err(|e| {
            Error::file(
                origin,
                format!("not a readable HDF5 file ({size} bytes): {e}"),
            )
        })?;
        Ok(H5Reader {
            path: origin.to_path_buf(),
            file,
            size,
        })
    }

    /// A scalar (or one-element) numeric dataset, integer or float, as `f64` (an
    /// optimizer's iteration count and learning rate).
    pub fn scalar(&self, path: &str) -> Result<f64> {
        let ds = self
            .file
            .dataset(path)
            .map_err(|e| self.h5_err(path, "cannot open the dataset", e))?;
        let values = match ds.read_f64() {
            Ok(v) => v,
            Err(_) => ds
                .read_i64()
                .map_err(|e| self.h5_err(path, "unreadable number", e))?
                .into_iter()
                .map(|v| v as f64)
                .collect(),
        };
        match values.as_slice() {
            [one] => Ok(*one),
            other => Err(self.err(path, format!("holds {} values, expected one", other.len()))),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, object: &str, problem: impl std::fmt::Display) -> Error {
        let object = if object.is_empty() { "/" } else { object };
        Error::file(&self.path, format!("{object}: {problem}"))
    }

    /// An error of the HDF5 crate while doing `what` on `object`; a file that ends before
    /// its data says so.
    fn h5_err(&self, object: &str, what: &str, e: hdf5_pure::Error) -> Error {
        let text = e.to_string();
        if text.contains("EOF") {
            self.err(
                object,
                format!(
                    "{what}: the file ends early (truncated? it has {} bytes): {text}",
                    self.size
                ),
            )
        } else {
            self.err(object, format!("{what}: {text}"))
        }
    }

    fn group(&self, path: &str) -> Result<hdf5_pure::Group> {
        if path.is_empty() || path == "/" {
            return Ok(self.file.root());
        }
        self.file
            .group(path)
            .map_err(|e| self.h5_err(path, "cannot open the group", e))
    }

    /// Whether `path` names a group.
    pub fn has_group(&self, path: &str) -> bool {
        self.group(path).is_ok()
    }

    /// The names of the groups directly under `path` (`""` for the root).
    pub fn groups(&self, path: &str) -> Result<Vec<String>> {
        self.group(path)?
            .groups()
            .map_err(|e| self.h5_err(path, "cannot list groups", e))
    }

    /// The names of the datasets directly under `path`.
    pub fn datasets(&self, path: &str) -> Result<Vec<String>> {
        self.group(path)?
            .datasets()
            .map_err(|e| self.h5_err(path, "cannot list datasets", e))
    }

    /// A string or list-of-strings attribute of group `path`: `None` when absent. Keras
    /// writes fixed-length byte strings (Keras 2) or variable-length strings (Keras 3), and
    /// an empty list as an empty float array; all read as a list.
    pub fn strings_attr(&self, path: &str, name: &str) -> Result<Option<Vec<String>>> {
        let attrs = self
            .group(path)?
            .attrs()
            .map_err(|e| self.h5_err(path, "cannot read attributes", e))?;
        let Some(value) = attrs.get(name) else {
            return Ok(None);
        };
        strings_of(value)
            .map(Some)
            .ok_or_else(|| self.err(path, format!("attribute '{name}' is not a list of strings")))
    }

    /// A float dataset as a `Float` tensor of its shape (HDF5 row-major order, as stored).
    pub fn tensor(&self, path: &str) -> Result<Tensor> {
        let ds = self
            .file
            .dataset(path)
            .map_err(|e| self.h5_err(path, "cannot open the dataset", e))?;
        let shape = ds
            .shape()
            .map_err(|e| self.h5_err(path, "unreadable shape", e))?;
        let dims: Vec<i64> = shape
            .iter()
            .map(|&d| {
                i64::try_from(d).map_err(|_| self.err(path, format!("dimension {d} is too large")))
            })
            .collect::<Result<_>>()?;
        let bytes = convkit_tensor::memory::bytes_for(&dims, 4)
            .ok_or_else(|| self.err(path, format!("shape {dims:?} overflows")))?;
        let chunked = ds.is_chunked();
        if !chunked && bytes > self.size {
            return Err(self.err(
                path,
                format!(
                    "shape {dims:?} needs {bytes} bytes, more than the file's {}",
                    self.size
                ),
            ));
        }
        convkit_tensor::memory::check_allocation(
            &format!("{}: {path}", self.path.display()),
            &dims,
            4,
        )?;
        let values = ds
            .read_f32()
            .map_err(|e| self.h5_err(path, "unreadable data", e))?;
        let expected = usize::try_from(bytes / 4).unwrap_or(usize::MAX);
        if values.len() != expected {
            return Err(self.err(
                path,
                format!(
                    "holds {} values, its shape {dims:?} needs {expected}",
                    values.len()
                ),
            ));
        }
        Ok(Tensor::f_from_slice(&values)?.f_reshape(&dims)?)
    }
}

/// The strings of a string attribute (a scalar string as a one-element list; an empty
/// numeric array, h5py's way of writing `[]`, as an empty list).
fn strings_of(value: &AttrValue) -> Option<Vec<String>> {
    Some(match value {
        AttrValue::String(s)
        | AttrValue::AsciiString(s)
        | AttrValue::VarLenString(s)
        | AttrValue::VarLenAsciiString(s) => vec![s.clone()],
        AttrValue::StringArray(v)
        | AttrValue::AsciiStringArray(v)
        | AttrValue::VarLenAsciiCharArray(v)
        | AttrValue::VarLenStringArray(v)
        | AttrValue::VarLenAsciiStringArray(v) => v.clone(),
        AttrValue::StringSized { value, .. } | AttrValue::AsciiStringSized { value, .. } => {
            vec![value.clone()]
        }
        AttrValue::StringArraySized { values, .. }
        | AttrValue::AsciiStringArraySized { values, .. } => values.clone(),
        AttrValue::F64Array(v) if v.is_empty() => Vec::new(),
        AttrValue::F32Array(v) if v.is_empty() => Vec::new(),
        _ => return None,
    })
}
