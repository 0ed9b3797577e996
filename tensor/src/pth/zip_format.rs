//! The zip `torch.save` format (PyTorch >= 1.6): `<prefix>/data.pkl` plus one stored entry
//! `<prefix>/data/<key>` per storage.
//!
//! Archives are opened through their central directory with the `zip` crate. When that fails
//! (the file was cut short, so the central directory at its end is gone), the local headers
//! are scanned from the front instead, so that the error can name the tensor whose storage is
//! cut short.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{Cursor, Read};

use crate::pth::error::PthError;
use crate::pth::pickle;
use crate::pth::tensor::{self, RawTensor, StorageBytes, TensorRef};

const LOCAL_SIG: &[u8; 4] = b"PK\x03\x04";
const DESCRIPTOR_SIG: &[u8; 4] = b"PK\x07\x08";
/// Largest `data.pkl` read (a pickle of this size describes hundreds of thousands of tensors).
const MAX_PICKLE_BYTES: u64 = 1 << 28;

/// Whether the bytes start like a zip archive.
pub(crate) fn looks_like_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(LOCAL_SIG) || bytes.starts_with(b"PK\x05\x06")
}

/// Reads a zip-format state dict.
pub(crate) fn read(bytes: &[u8], origin: &str) -> Result<Vec<(String, RawTensor)>, PthError> {
    let mut archive = match zip::ZipArchive::new(Cursor::new(bytes)) {
        Ok(a) => Archive::Central(Box::new(a)),
        Err(e) => {
            let entries = scan_local_headers(bytes);
            if entries.is_empty() {
                return Err(PthError::not_state_dict(
                    origin,
                    format!("unreadable zip archive: {e}"),
                ));
            }
            Archive::Scanned {
                entries,
                error: e.to_string(),
            }
        }
    };
    let names = archive.names();
    if names.iter().any(|n| n.ends_with("constants.pkl")) {
        return Err(PthError::not_state_dict(
            origin,
            "a TorchScript archive (torch.jit.save), not a torch.save state dict",
        ));
    }
    let pkl_name = names
        .iter()
        .find(|n| is_top_data_pkl(n))
        .cloned()
        .ok_or_else(|| {
            PthError::not_state_dict(origin, "zip archive without a `<name>/data.pkl` entry")
        })?;
    let prefix = pkl_name
        .strip_suffix("data.pkl")
        .unwrap_or_default()
        .to_owned();

    if let Some(order) = archive.entry(
        bytes,
        origin,
        &format!("{prefix}byteorder"),
        Budget::Whole(16),
    )? {
        if order.data.trim_ascii() != b"little" {
            return Err(PthError::malformed(
                origin,
                format!(
                    "byte order `{}` is not supported (only little-endian files are)",
                    String::from_utf8_lossy(&order.data)
                ),
            ));
        }
    }

    let pkl = archive
        .entry(bytes, origin, &pkl_name, Budget::Whole(MAX_PICKLE_BYTES))?
        .ok_or_else(|| PthError::not_state_dict(origin, format!("cannot read `{pkl_name}`")))?;
    let pickle_name = format!("zip entry `{pkl_name}`");
    let (root, _) = pickle::unpickle(&pkl.data, 0, origin, &pickle_name)?;
    let entries = super::state_dict_entries(origin, root)?;

    let storages = load_storages(&mut archive, bytes, origin, &prefix, &entries)?;
    let tensors = tensor::materialize(origin, entries, &storages)?;

    if let Archive::Scanned { error, .. } = &archive {
        // Every tensor is whole, but the archive's end is missing.
        return Err(PthError::Truncated {
            origin: origin.to_owned(),
            key: None,
            record: format!("the zip central directory ({error})"),
            expected: 22,
            available: 0,
        });
    }
    Ok(tensors)
}

/// `data.pkl` at the top folder of the archive (`archive/data.pkl`, `model/data.pkl`).
fn is_top_data_pkl(name: &str) -> bool {
    match name.strip_suffix("data.pkl") {
        Some("") => true,
        Some(prefix) => prefix.ends_with('/') && prefix.bytes().filter(|&b| b == b'/').count() == 1,
        None => false,
    }
}

/// Reads the storage entry of every storage the tensors use.
fn load_storages<'a>(
    archive: &mut Archive<'a>,
    bytes: &'a [u8],
    origin: &str,
    prefix: &str,
    entries: &[(String, TensorRef)],
) -> Result<HashMap<String, StorageBytes<'a>>, PthError> {
    let mut storages: HashMap<String, StorageBytes<'a>> = HashMap::new();
    // Bytes to read per storage: the size declared in the pickle.
    let mut wanted: Vec<(&str, u64)> = Vec::new();
    for (_, t) in entries {
        let s = &t.storage;
        let nbytes = s.numel.saturating_mul(s.dtype.size_bytes() as u64);
        match wanted.iter_mut().find(|(k, _)| *k == s.key) {
            Some((_, n)) => *n = (*n).max(nbytes),
            None => wanted.push((&s.key, nbytes)),
        }
    }
    for (key, nbytes) in wanted {
        let name = format!("{prefix}data/{key}");
        let record = format!("zip entry `{name}`");
        let data = archive
            .entry(bytes, origin, &name, Budget::Prefix(nbytes))?
            .map(|e| e.data);
        storages.insert(key.to_owned(), StorageBytes { data, record });
    }
    Ok(storages)
}

/// How much of an entry is read.
#[derive(Clone, Copy)]
enum Budget {
    /// The whole entry is needed and may hold at most this many bytes (a pickle).
    Whole(u64),
    /// Only this many leading bytes are used, as torch does for a storage whose record is
    /// longer than the storage the pickle declares.
    Prefix(u64),
}

/// An entry's bytes.
struct Entry<'a> {
    data: Cow<'a, [u8]>,
}

/// A zip archive read through its central directory, or recovered by scanning local headers.
enum Archive<'a> {
    Central(Box<zip::ZipArchive<Cursor<&'a [u8]>>>),
    Scanned {
        entries: Vec<(String, &'a [u8])>,
        error: String,
    },
}

impl<'a> Archive<'a> {
    fn names(&self) -> Vec<String> {
        match self {
            Archive::Central(a) => a.file_names().map(str::to_owned).collect(),
            Archive::Scanned { entries, .. } => entries.iter().map(|(n, _)| n.clone()).collect(),
        }
    }

    /// The bytes of the entry `name` that `budget` allows; `None` when there is no such entry.
    ///
    /// The budget is checked before anything is inflated: an entry that must be read whole
    /// and whose header declares more is refused unread, no more than the budget is ever
    /// inflated, and an entry that inflates past the size its header declares is refused as
    /// soon as it does (a decompression bomb). A recovered (scanned) entry is cut to the
    /// budget, since its bytes are already in memory.
    fn entry(
        &mut self,
        bytes: &'a [u8],
        origin: &str,
        name: &str,
        budget: Budget,
    ) -> Result<Option<Entry<'a>>, PthError> {
        let limit = match budget {
            Budget::Whole(n) | Budget::Prefix(n) => n,
        };
        match self {
            Archive::Scanned { entries, .. } => {
                Ok(entries.iter().find(|(n, _)| n == name).map(|(_, d)| Entry {
                    data: Cow::Borrowed(d.get(..clamp(limit, d.len())).unwrap_or_default()),
                }))
            }
            Archive::Central(a) => {
                let bad = |e: &dyn std::fmt::Display| {
                    PthError::malformed(origin, format!("zip entry `{name}`: {e}"))
                };
                let mut file = match a.by_name(name) {
                    Ok(f) => f,
                    Err(zip::result::ZipError::FileNotFound) => return Ok(None),
                    Err(e) => return Err(bad(&e)),
                };
                let stored = file.compression() == zip::CompressionMethod::Stored;
                let declared = if stored && !file.encrypted() {
                    file.compressed_size()
                } else {
                    file.size()
                };
                if matches!(budget, Budget::Whole(_)) && declared > limit {
                    return Err(PthError::OverBudget {
                        origin: origin.to_owned(),
                        record: format!("zip entry `{name}`"),
                        size: declared,
                        limit,
                    });
                }
                let wanted = declared.min(limit);
                if stored && !file.encrypted() {
                    // Borrow stored data straight from the file.
                    let start = local_data_start(bytes, file.header_start())
                        .ok_or_else(|| bad(&"bad local header"))?;
                    let end = start.saturating_add(clamp(wanted, usize::MAX));
                    let data = bytes.get(start..end.min(bytes.len())).unwrap_or_default();
                    return Ok(Some(Entry {
                        data: Cow::Borrowed(data),
                    }));
                }
                // One byte past the header's size proves that the header lied.
                let probe = u64::from(wanted == declared);
                let mut out = Vec::with_capacity(clamp(wanted, 1 << 26));
                (&mut file)
                    .take(wanted.saturating_add(probe))
                    .read_to_end(&mut out)
                    .map_err(|e| bad(&e))?;
                if out.len() as u64 > declared {
                    return Err(PthError::malformed(
                        origin,
                        format!(
                            "zip entry `{name}` inflates past the {declared} bytes its header \
                             declares (a decompression bomb?)"
                        ),
                    ));
                }
                Ok(Some(Entry {
                    data: Cow::Owned(out),
                }))
            }
        }
    }
}

fn clamp(n: u64, max: usize) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX).min(max)
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes(b.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(b.try_into().ok()?))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    let b = bytes.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(b.try_into().ok()?))
}

/// Offset of the data of the entry whose local header starts at `header`.
fn local_data_start(bytes: &[u8], header: u64) -> Option<usize> {
    let header = usize::try_from(header).ok()?;
    if bytes.get(header..header.checked_add(4)?)? != LOCAL_SIG {
        return None;
    }
    let name_len = usize::from(u16_at(bytes, header + 26)?);
    let extra_len = usize::from(u16_at(bytes, header + 28)?);
    header
        .checked_add(30)?
        .checked_add(name_len)?
        .checked_add(extra_len)
}

/// Walks the local headers from the start of the archive, returning each stored entry's
/// name and the bytes of it that are present (fewer than written when the file is cut).
/// Stops at the first compressed entry, the central directory, or the end of the data.
fn scan_local_headers(bytes: &[u8]) -> Vec<(String, &[u8])> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while let Some((name, data, next)) = scan_one(bytes, pos) {
        out.push((name, data));
        match next {
            Some(n) if n > pos => pos = n,
            _ => break,
        }
    }
    out
}

/// One local entry at `pos`: its name, its (possibly cut) data, and the next header's offset
/// when the entry is complete.
fn scan_one(bytes: &[u8], pos: usize) -> Option<(String, &[u8], Option<usize>)> {
    if bytes.get(pos..pos.checked_add(4)?)? != LOCAL_SIG {
        return None;
    }
    let flags = u16_at(bytes, pos + 6)?;
    let method = u16_at(bytes, pos + 8)?;
    let csize = u32_at(bytes, pos + 18)?;
    let name_len = usize::from(u16_at(bytes, pos + 26)?);
    let name_start = pos.checked_add(30)?;
    let name = bytes.get(name_start..name_start.checked_add(name_len)?)?;
    let name = String::from_utf8_lossy(name).into_owned();
    let start = local_data_start(bytes, pos as u64)?;
    if method != 0 || start > bytes.len() {
        return None;
    }
    let rest = bytes.get(start..)?;
    if flags & 0x08 == 0 && csize != u32::MAX {
        // Size known from the local header.
        let len = usize::try_from(csize).ok()?;
        return Some(match rest.get(..len) {
            Some(d) => (name, d, start.checked_add(len)),
            None => (name, rest, None),
        });
    }
    // Sizes follow the data in a descriptor: find the descriptor whose size matches.
    let mut from = 0usize;
    while let Some(off) = find(rest.get(from..)?, DESCRIPTOR_SIG) {
        let q = from.checked_add(off)?;
        let at = start.checked_add(q)?;
        if u32_at(bytes, at + 8).map(u64::from) == Some(q as u64) {
            return Some((name, rest.get(..q)?, at.checked_add(16)));
        }
        if u64_at(bytes, at + 8) == Some(q as u64) {
            return Some((name, rest.get(..q)?, at.checked_add(24)));
        }
        from = q.checked_add(1)?;
    }
    Some((name, rest, None))
}

fn find(haystack: &[u8], needle: &[u8; 4]) -> Option<usize> {
    haystack.windows(4).position(|w| w == needle)
}
