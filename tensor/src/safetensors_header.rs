//! A safetensors file's header, read and checked in plain Rust before libtorch reads the file:
//! the header's length, its JSON, every tensor's dtype and shape, and that each tensor's bytes
//! (`data_offsets`) are exactly its shape's size and lie inside the file, one after the other.
//! A corrupt or hostile header is refused here with a message, and the names and shapes can be
//! compared with a model's before any tensor is made.

use std::io::Read;
use std::path::Path;

use serde_json::Value;

use crate::{Error, Result};

/// Largest header accepted (the `safetensors` crate's own limit).
pub const MAX_HEADER_BYTES: u64 = 100_000_000;

/// One tensor of a safetensors file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorEntry {
    /// Its name.
    pub name: String,
    /// Its dtype as written (`F32`, `BF16`...).
    pub dtype: String,
    /// Its shape.
    pub shape: Vec<u64>,
    /// Start and end of its bytes in the data section.
    pub data_offsets: (u64, u64),
}

/// Bytes per element of a safetensors dtype.
fn dtype_size(dtype: &str) -> Option<u64> {
    Some(match dtype {
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" => 1,
        "I16" | "U16" | "F16" | "BF16" => 2,
        "I32" | "U32" | "F32" => 4,
        "I64" | "U64" | "F64" => 8,
        _ => return None,
    })
}

/// Parses the header at the start of `bytes`, for a file of `file_len` bytes in all (`bytes`
/// may hold only the header). The tensors are returned in the order of their data.
pub fn parse_header(bytes: &[u8], file_len: u64) -> std::result::Result<Vec<TensorEntry>, String> {
    let len_bytes: [u8; 8] = bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .ok_or("shorter than the 8-byte header length")?;
    let n = u64::from_le_bytes(len_bytes);
    if n > MAX_HEADER_BYTES {
        return Err(format!(
            "header of {n} bytes, more than the {MAX_HEADER_BYTES} allowed"
        ));
    }
    let data_len = file_len
        .checked_sub(8 + n)
        .ok_or_else(|| format!("header of {n} bytes, but the file holds {file_len}"))?;
    let end = usize::try_from(8 + n).map_err(|_| "header too large".to_string())?;
    let text = bytes
        .get(8..end)
        .ok_or_else(|| format!("header of {n} bytes, but only {} were read", bytes.len()))?;
    let json: Value =
        serde_json::from_slice(text).map_err(|e| format!("header is not JSON: {e}"))?;
    let Value::Object(map) = json else {
        return Err("header is not a JSON object".into());
    };
    let mut entries = Vec::with_capacity(map.len());
    for (name, v) in map {
        if name == "__metadata__" {
            let strings = v
                .as_object()
                .is_some_and(|m| m.values().all(Value::is_string));
            if !strings {
                return Err("`__metadata__` is not a map of strings".into());
            }
            continue;
        }
        entries.push(parse_entry(&name, &v)?);
    }
    entries.sort_by_key(|e| e.data_offsets);
    let mut next = 0u64;
    for e in &entries {
        let (start, stop) = e.data_offsets;
        if start != next {
            return Err(format!(
                "tensor `{}` starts at byte {start} of the data, expected {next} (gaps and overlaps are invalid)",
                e.name
            ));
        }
        next = stop;
    }
    if next != data_len {
        return Err(format!(
            "the tensors hold {next} bytes, the file's data section {data_len}"
        ));
    }
    Ok(entries)
}

fn parse_entry(name: &str, v: &Value) -> std::result::Result<TensorEntry, String> {
    let bad = |what: &str| format!("tensor `{name}`: {what}");
    let dtype = v
        .get("dtype")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("no dtype"))?;
    let size = dtype_size(dtype).ok_or_else(|| bad(&format!("unknown dtype {dtype}")))?;
    let shape: Vec<u64> = v
        .get("shape")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no shape"))?
        .iter()
        .map(|d| {
            d.as_u64()
                .ok_or_else(|| bad("a dimension is not a whole number"))
        })
        .collect::<std::result::Result<_, _>>()?;
    let offsets = v
        .get("data_offsets")
        .and_then(Value::as_array)
        .filter(|o| o.len() == 2)
        .ok_or_else(|| bad("data_offsets is not [start, end]"))?;
    let (start, stop) = match (offsets[0].as_u64(), offsets[1].as_u64()) {
        (Some(s), Some(e)) if s <= e => (s, e),
        _ => return Err(bad("data_offsets is not [start, end] with start <= end")),
    };
    let nbytes = shape
        .iter()
        .try_fold(size, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| bad(&format!("shape {shape:?} overflows")))?;
    if stop - start != nbytes {
        return Err(bad(&format!(
            "shape {shape:?} of {dtype} needs {nbytes} bytes, data_offsets give {}",
            stop - start
        )));
    }
    Ok(TensorEntry {
        name: name.to_owned(),
        dtype: dtype.to_owned(),
        shape,
        data_offsets: (start, stop),
    })
}

/// Reads and checks the header of the safetensors file at `path` (only the header is read).
pub fn read_header(path: &Path) -> Result<Vec<TensorEntry>> {
    let (file, meta) = crate::files::open_regular_file(path)?;
    let mut head = Vec::new();
    let mut reader = file.take(8);
    reader
        .read_to_end(&mut head)
        .map_err(|e| Error::io(path, e))?;
    let n = head
        .get(..8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_le_bytes)
        .unwrap_or(0)
        .min(MAX_HEADER_BYTES);
    let mut file = reader.into_inner();
    (&mut file)
        .take(n)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(path, e))?;
    parse_header(&head, meta.len()).map_err(|problem| {
        Error::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not a valid safetensors file: {problem}"),
            ),
        )
    })
}

/// How the tensors of a file differ from the `expected` names and shapes: each missing,
/// unexpected or misshapen tensor, by name. Empty when they match.
pub fn differences(entries: &[TensorEntry], expected: &[(String, Vec<i64>)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, shape) in expected {
        let want: Vec<u64> = shape.iter().map(|&d| d.max(0).unsigned_abs()).collect();
        match entries.iter().find(|e| &e.name == name) {
            None => problems.push(format!("`{name}` is missing")),
            Some(e) if e.shape != want => problems.push(format!(
                "`{name}` has shape {:?}, expected {want:?}",
                e.shape
            )),
            Some(_) => {}
        }
    }
    for e in entries {
        if !expected.iter().any(|(n, _)| n == &e.name) {
            problems.push(format!("`{}` is not a weight of this model", e.name));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(header: &str, data: usize) -> Vec<u8> {
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out.resize(out.len() + data, 0);
        out
    }

    #[test]
    fn headers_are_checked_against_shapes_and_the_file() {
        let good = file(
            r#"{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"__metadata__":{"format":"pt"}}"#,
            24,
        );
        let e = parse_header(&good, good.len() as u64).unwrap();
        assert_eq!(e[0].shape, vec![2, 3]);
        assert!(differences(&e, &[("a".into(), vec![2, 3])]).is_empty());
        let d = differences(&e, &[("a".into(), vec![3, 2]), ("b".into(), vec![1])]);
        assert_eq!(
            d,
            vec!["`a` has shape [2, 3], expected [3, 2]", "`b` is missing"]
        );

        let short = file(
            r#"{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}"#,
            20,
        );
        assert!(parse_header(&short, short.len() as u64)
            .unwrap_err()
            .contains("data section 20"));
        let lie = file(
            r#"{"a":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,24]}}"#,
            24,
        );
        assert!(parse_header(&lie, lie.len() as u64)
            .unwrap_err()
            .contains("overflows"));
        let mut huge = good.clone();
        huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(parse_header(&huge, huge.len() as u64)
            .unwrap_err()
            .contains("more than"));
    }
}
