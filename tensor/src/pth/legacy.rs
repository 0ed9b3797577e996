//! The legacy `torch.save` format (PyTorch < 1.6, or `_use_new_zipfile_serialization=False`).
//!
//! Layout, as written by `torch/serialization.py::_legacy_save`: a pickle of the magic number
//! `0x1950a86a20f9469cfc6c`, a pickle of the protocol version 1001, a pickle of a `sys_info`
//! dict, the main pickle (persistent ids
//! `('storage', storage_class, root_key, location, numel, view_metadata)`), a pickle of the
//! list of storage keys, and then for each key in that order a little-endian `u64` element
//! count followed by that many elements of raw bytes.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::pth::error::PthError;
use crate::pth::pickle::{self, Value};
use crate::pth::tensor::{self, DType, RawTensor, StorageBytes};

/// The magic number pickled first in a legacy file.
const MAGIC: i128 = 0x1950_a86a_20f9_469c_fc6c;
/// The only legacy protocol version there is.
const PROTOCOL_VERSION: i128 = 1001;

/// Whether the bytes start like a pickle (`PROTO` opcode), the first thing of a legacy file.
pub(crate) fn looks_like_legacy(bytes: &[u8]) -> bool {
    bytes.first() == Some(&0x80)
}

/// Reads a legacy-format state dict.
pub(crate) fn read(bytes: &[u8], origin: &str) -> Result<Vec<(String, RawTensor)>, PthError> {
    let bad_magic = |why: String| PthError::not_state_dict(origin, why);
    let (magic, pos) = pickle::unpickle(bytes, 0, origin, "legacy magic-number pickle")
        .map_err(|e| bad_magic(format!("no magic number: {e}")))?;
    if magic != Value::Int(MAGIC) {
        return Err(bad_magic(format!(
            "bad magic number: a pickle of {} instead of torch's magic number",
            magic.type_name()
        )));
    }
    let (version, pos) = pickle::unpickle(bytes, pos, origin, "legacy protocol-version pickle")?;
    if version != Value::Int(PROTOCOL_VERSION) {
        return Err(PthError::malformed(
            origin,
            format!("legacy protocol version is {version:?}, not 1001"),
        ));
    }
    let (sys_info, pos) = pickle::unpickle(bytes, pos, origin, "legacy sys_info pickle")?;
    if let Value::Dict(pairs) = &sys_info {
        let big_endian = pairs
            .iter()
            .any(|(k, v)| *k == Value::Str("little_endian".into()) && *v == Value::Bool(false));
        if big_endian {
            return Err(PthError::malformed(
                origin,
                "the file was written on a big-endian machine, which is not supported",
            ));
        }
    }
    let (root, pos) = pickle::unpickle(bytes, pos, origin, "legacy main pickle")?;
    // Element types of every storage in the file, including storages of values outside the
    // state dict proper (a checkpoint's optimizer state): their records must be skipped.
    let mut dtypes: HashMap<String, DType> = HashMap::new();
    collect_storages(&root, &mut dtypes);
    let entries = super::state_dict_entries(origin, root)?;

    let (keys, mut pos) = pickle::unpickle(bytes, pos, origin, "legacy storage-key list")?;
    let Value::List(keys) = keys else {
        return Err(PthError::malformed(
            origin,
            format!("legacy storage-key list is {}", keys.type_name()),
        ));
    };
    let total = keys.len();
    let mut storages: HashMap<String, StorageBytes<'_>> = HashMap::new();
    // A record found cut short: (storage key, bytes expected, bytes present).
    let mut cut: Option<(String, u64, u64)> = None;
    for (i, key) in keys.iter().enumerate() {
        let key = match key {
            Value::Str(s) => s.clone(),
            Value::Int(n) => n.to_string(),
            other => {
                return Err(PthError::malformed(
                    origin,
                    format!("legacy storage key is {}", other.type_name()),
                ))
            }
        };
        let record = format!(
            "legacy storage record `{key}` ({} of {total}, at byte {pos})",
            i + 1
        );
        if cut.is_some() {
            // Everything after a cut record is missing.
            storages.insert(key, StorageBytes { data: None, record });
            continue;
        }
        let es = dtypes
            .get(&key)
            .map(|d| d.size_bytes() as u64)
            .ok_or_else(|| {
                PthError::malformed(
                    origin,
                    format!("storage `{key}` has a record but no tensor uses it"),
                )
            })?;
        let header = pos
            .checked_add(8)
            .and_then(|end| bytes.get(pos..end))
            .and_then(|b| <[u8; 8]>::try_from(b).ok());
        let Some(header) = header else {
            let present = bytes.len().saturating_sub(pos) as u64;
            cut = Some((key.clone(), 8, present));
            storages.insert(
                key,
                StorageBytes {
                    data: Some(Cow::Borrowed(&[])),
                    record,
                },
            );
            continue;
        };
        let numel = u64::from_le_bytes(header);
        let start = pos + 8;
        let nbytes = numel.checked_mul(es).ok_or_else(|| {
            PthError::malformed(origin, format!("{record}: size {numel} overflows"))
        })?;
        let rest = bytes.get(start..).unwrap_or_default();
        let data = match usize::try_from(nbytes).ok().and_then(|n| rest.get(..n)) {
            Some(d) => {
                pos = start + d.len();
                d
            }
            None => {
                cut = Some((key.clone(), nbytes, rest.len() as u64));
                rest
            }
        };
        storages.insert(
            key,
            StorageBytes {
                data: Some(Cow::Borrowed(data)),
                record,
            },
        );
    }

    // Storages used by tensors but absent from the key list.
    for (_, t) in &entries {
        storages
            .entry(t.storage.key.clone())
            .or_insert_with(|| StorageBytes {
                data: None,
                record: format!("legacy storage record `{}`", t.storage.key),
            });
    }

    let user = |key: &str| {
        entries
            .iter()
            .find(|(_, t)| t.storage.key == key)
            .map(|(k, _)| k.clone())
    };
    let cut_error = cut
        .as_ref()
        .map(|(key, expected, available)| PthError::Truncated {
            origin: origin.to_owned(),
            key: user(key),
            record: storages
                .get(key)
                .map(|s| s.record.clone())
                .unwrap_or_default(),
            expected: *expected,
            available: *available,
        });
    let tensors = tensor::materialize(origin, entries, &storages)?;
    match cut_error {
        // The tensors that needed the missing bytes already failed; a record can still be cut
        // where no tensor looks (or in a storage outside the state dict).
        Some(e) => Err(e),
        None => Ok(tensors),
    }
}

/// Records the element type of every storage referenced inside `v`.
fn collect_storages(v: &Value, out: &mut HashMap<String, DType>) {
    match v {
        Value::Storage(s) => {
            out.entry(s.key.clone()).or_insert(s.dtype);
        }
        Value::Tensor(t) => {
            out.entry(t.storage.key.clone()).or_insert(t.storage.dtype);
        }
        Value::Tuple(items) | Value::List(items) => {
            items.iter().for_each(|i| collect_storages(i, out));
        }
        Value::Dict(pairs) => pairs.iter().for_each(|(k, v)| {
            collect_storages(k, out);
            collect_storages(v, out);
        }),
        Value::Object { args, .. } => collect_storages(args, out),
        _ => {}
    }
}
