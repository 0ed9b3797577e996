//! The IDX file format (MNIST): a magic number giving the element type and rank, the
//! dimensions as big-endian u32, then the data. Files may be gzip-compressed.

use std::io::Read;
use std::path::Path;

use convkit_tensor::tch::{Kind, Tensor};

use crate::{Error, Result};

/// Largest IDX file read, before or after gunzipping (4 GiB; MNIST's largest is 47 MB).
pub const MAX_IDX_BYTES: u64 = 4 << 30;

/// Reads a whole regular file, transparently gunzipping it when it starts with the gzip
/// magic. Neither the file nor what it inflates to may pass [`MAX_IDX_BYTES`] or the memory
/// available (a gzip bomb is refused as soon as it inflates past that).
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let budget = MAX_IDX_BYTES.min(convkit_tensor::memory::available_memory() / 2);
    let raw = convkit_tensor::files::read_regular_file(path, budget)?;
    inflate_maybe_gz(path, raw, budget)
}

/// `raw` gunzipped when it starts with the gzip magic, as is otherwise; refused as soon as it
/// inflates past `budget` bytes. `path` names the file in messages.
pub fn inflate_maybe_gz(path: &Path, raw: Vec<u8>, budget: u64) -> Result<Vec<u8>> {
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Ok(raw);
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&raw[..])
        .take(budget.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| Error::Format {
            path: path.into(),
            problem: format!("corrupt gzip stream: {e}"),
        })?;
    if out.len() as u64 > budget {
        return Err(Error::Format {
            path: path.into(),
            problem: format!(
                "inflates past {} (a gzip bomb, or not an IDX file)",
                convkit_tensor::memory::gib(budget)
            ),
        });
    }
    Ok(out)
}

/// Parses an IDX file of unsigned bytes; returns the dimensions and the data.
pub fn parse_u8(path: &Path, bytes: &[u8]) -> Result<(Vec<i64>, Vec<u8>)> {
    if bytes.len() < 4 {
        return Err(Error::Size {
            path: path.into(),
            expected: 4,
            actual: bytes.len() as u64,
        });
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(Error::Format {
            path: path.into(),
            problem: format!("not an IDX file (magic {:02x?})", &bytes[..4]),
        });
    }
    if bytes[2] != 0x08 {
        return Err(Error::Format {
            path: path.into(),
            problem: format!(
                "IDX element type 0x{:02x} is not unsigned byte (0x08)",
                bytes[2]
            ),
        });
    }
    let rank = bytes[3] as usize;
    let header = 4 + 4 * rank;
    if bytes.len() < header {
        return Err(Error::Size {
            path: path.into(),
            expected: header as u64,
            actual: bytes.len() as u64,
        });
    }
    let dims: Vec<i64> = (0..rank)
        .map(|i| {
            u32::from_be_bytes([
                bytes[4 + 4 * i],
                bytes[5 + 4 * i],
                bytes[6 + 4 * i],
                bytes[7 + 4 * i],
            ]) as i64
        })
        .collect();
    // The header's dimensions are untrusted: 2^31 x 2^31 x 4 must not wrap to a small size.
    let expected = convkit_tensor::memory::bytes_for(&dims, 1)
        .and_then(|n| n.checked_add(header as u64))
        .ok_or_else(|| Error::Format {
            path: path.into(),
            problem: format!("IDX dimensions {dims:?} multiply past 2^64 elements"),
        })?;
    if bytes.len() as u64 != expected {
        return Err(Error::Size {
            path: path.into(),
            expected,
            actual: bytes.len() as u64,
        });
    }
    Ok((dims, bytes[header..].to_vec()))
}

/// Reads an IDX file of unsigned bytes (raw or `.gz`) into a u8 tensor of its dimensions.
pub fn read_u8_tensor(path: &Path) -> Result<Tensor> {
    let bytes = read_maybe_gz(path)?;
    let (dims, data) = parse_u8(path, &bytes)?;
    Ok(Tensor::f_from_slice(&data)?
        .f_view(dims.as_slice())?
        .f_to_kind(Kind::Uint8)?)
}

/// Encodes unsigned bytes of shape `dims` as an IDX file.
pub fn encode_u8(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_size_errors() {
        let bytes = encode_u8(&[2, 3], &[1, 2, 3, 4, 5, 6]);
        let (dims, data) = parse_u8(Path::new("x"), &bytes).unwrap();
        assert_eq!(dims, vec![2, 3]);
        assert_eq!(data, vec![1, 2, 3, 4, 5, 6]);
        let e = parse_u8(
            Path::new("t10k-images-idx3-ubyte"),
            &bytes[..bytes.len() - 2],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("t10k-images-idx3-ubyte") && e.contains("expected 18 bytes, found 16"),
            "{e}"
        );
        let e = parse_u8(Path::new("f"), &[0, 0, 0x0d, 1, 0, 0, 0, 0])
            .unwrap_err()
            .to_string();
        assert!(e.contains("not unsigned byte"), "{e}");
    }

    #[test]
    fn dimensions_whose_product_overflows_are_refused() {
        // 2^31 x 2^31 x 4 = 2^64 wraps to 0 in u64: a 20-byte file claiming it.
        let bytes = encode_u8(&[1 << 31, 1 << 31, 4], &[]);
        let e = parse_u8(Path::new("bomb-idx3-ubyte"), &bytes)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("bomb-idx3-ubyte") && e.contains("multiply past 2^64"),
            "{e}"
        );
        // Large but representable: a size error, nothing allocated.
        let bytes = encode_u8(&[1 << 31, 1 << 31], &[]);
        let e = parse_u8(Path::new("big"), &bytes).unwrap_err().to_string();
        assert!(
            e.contains("expected 4611686018427387916 bytes, found 12"),
            "{e}"
        );
    }
}
