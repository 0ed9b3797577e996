//! Element types, tensors, and the copy of strided views out of their storages.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::pth::error::PthError;

/// Element type of a tensor read from a `.pth` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    /// float32.
    F32,
    /// float64.
    F64,
    /// float16.
    F16,
    /// bfloat16.
    BF16,
    /// int64.
    I64,
    /// int32.
    I32,
    /// int16.
    I16,
    /// int8.
    I8,
    /// uint8.
    U8,
    /// bool (one byte, 0 or 1).
    Bool,
}

impl DType {
    /// Bytes per element.
    pub fn size_bytes(self) -> usize {
        match self {
            DType::F64 | DType::I64 => 8,
            DType::F32 | DType::I32 => 4,
            DType::F16 | DType::BF16 | DType::I16 => 2,
            DType::I8 | DType::U8 | DType::Bool => 1,
        }
    }

    /// PyTorch's name of the type (`float32`).
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::F64 => "float64",
            DType::F16 => "float16",
            DType::BF16 => "bfloat16",
            DType::I64 => "int64",
            DType::I32 => "int32",
            DType::I16 => "int16",
            DType::I8 => "int8",
            DType::U8 => "uint8",
            DType::Bool => "bool",
        }
    }

    /// The element type of a legacy storage class (`FloatStorage` in module `torch`).
    pub(crate) fn from_storage_class(name: &str) -> Option<DType> {
        Some(match name {
            "FloatStorage" => DType::F32,
            "DoubleStorage" => DType::F64,
            "HalfStorage" => DType::F16,
            "BFloat16Storage" => DType::BF16,
            "LongStorage" => DType::I64,
            "IntStorage" => DType::I32,
            "ShortStorage" => DType::I16,
            "CharStorage" => DType::I8,
            "ByteStorage" => DType::U8,
            "BoolStorage" => DType::Bool,
            _ => return None,
        })
    }
}

impl std::fmt::Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A tensor copied out of a state dict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawTensor {
    /// Element type.
    pub dtype: DType,
    /// Sizes, outermost first; empty for a scalar.
    pub shape: Vec<usize>,
    /// Contiguous row-major little-endian bytes (storage offset and strides already applied).
    pub data: Vec<u8>,
}

impl RawTensor {
    /// Number of elements (1 for a scalar).
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// A reference to a storage, as produced by a persistent id in the pickle.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StorageRef {
    /// Storage key (zip: `data/<key>`; legacy: the record key).
    pub key: String,
    /// Element type of the storage class.
    pub dtype: DType,
    /// Elements the storage holds, as declared in the pickle.
    pub numel: u64,
    /// Legacy storage view: (element offset into the root storage, elements).
    pub view: Option<(u64, u64)>,
}

/// A tensor view as described by `_rebuild_tensor_v2`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TensorRef {
    /// Storage the view reads.
    pub storage: StorageRef,
    /// Storage offset in elements.
    pub offset: u64,
    /// Sizes.
    pub shape: Vec<usize>,
    /// Strides in elements.
    pub stride: Vec<usize>,
    /// The view's negation bit (`x._neg_view()`): the values read are negated.
    pub negate: bool,
}

/// The bytes of one storage and a description of where they come from.
pub(crate) struct StorageBytes<'a> {
    /// The bytes found (fewer than declared when the file is cut short); `None` when missing.
    pub data: Option<Cow<'a, [u8]>>,
    /// Description for error messages (`zip entry `archive/data/3``).
    pub record: String,
}

/// Most bytes a view that overlaps itself (stride 0, expanded tensors) may be materialised to
/// beyond the size of its storage.
const MAX_EXPANDED_BYTES: u64 = 1 << 30;

/// Copies every tensor out of its storage.
pub(crate) fn materialize(
    origin: &str,
    entries: Vec<(String, TensorRef)>,
    storages: &HashMap<String, StorageBytes<'_>>,
) -> Result<Vec<(String, RawTensor)>, PthError> {
    let mut out = Vec::with_capacity(entries.len());
    for (key, t) in entries {
        let raw = materialize_one(origin, &key, &t, storages)?;
        out.push((key, raw));
    }
    Ok(out)
}

fn materialize_one(
    origin: &str,
    key: &str,
    t: &TensorRef,
    storages: &HashMap<String, StorageBytes<'_>>,
) -> Result<RawTensor, PthError> {
    let dtype = t.storage.dtype;
    let es = dtype.size_bytes() as u64;
    let overflow = || PthError::malformed_at(origin, Some(key), "tensor size overflows");
    if t.shape.len() != t.stride.len() {
        return Err(PthError::malformed_at(
            origin,
            Some(key),
            format!(
                "shape {:?} and stride {:?} differ in length",
                t.shape, t.stride
            ),
        ));
    }
    let numel = t
        .shape
        .iter()
        .try_fold(1u64, |acc, &s| acc.checked_mul(s as u64))
        .ok_or_else(overflow)?;
    if numel == 0 {
        return Ok(RawTensor {
            dtype,
            shape: t.shape.clone(),
            data: Vec::new(),
        });
    }
    // Highest element index the view touches, relative to the start of the storage (view).
    let mut last = t.offset;
    for (&size, &stride) in t.shape.iter().zip(&t.stride) {
        let reach = (size as u64 - 1)
            .checked_mul(stride as u64)
            .ok_or_else(overflow)?;
        last = last.checked_add(reach).ok_or_else(overflow)?;
    }
    let (base, limit) = match t.storage.view {
        Some((view_offset, view_numel)) => (view_offset, view_numel),
        None => (0, t.storage.numel),
    };
    if last >= limit {
        return Err(PthError::ViewOutOfBounds {
            origin: origin.to_owned(),
            key: key.to_owned(),
            view: format!(
                "(storage offset {}, shape {:?}, stride {:?}) reaches element {last}",
                t.offset, t.shape, t.stride
            ),
            storage_numel: limit,
        });
    }
    let first = base.checked_add(t.offset).ok_or_else(overflow)?;
    let needed = base
        .checked_add(last)
        .and_then(|v| v.checked_add(1))
        .and_then(|v| v.checked_mul(es))
        .ok_or_else(overflow)?;
    let storage = storages.get(&t.storage.key).ok_or_else(|| {
        PthError::malformed_at(
            origin,
            Some(key),
            format!("storage `{}` is not in the file", t.storage.key),
        )
    })?;
    let data: &[u8] = match &storage.data {
        Some(d) => d,
        None => {
            return Err(PthError::Truncated {
                origin: origin.to_owned(),
                key: Some(key.to_owned()),
                record: format!("{} (missing)", storage.record),
                expected: needed,
                available: 0,
            })
        }
    };
    if needed > data.len() as u64 {
        return Err(PthError::Truncated {
            origin: origin.to_owned(),
            key: Some(key.to_owned()),
            record: storage.record.clone(),
            expected: needed,
            available: data.len() as u64,
        });
    }
    let out_bytes = numel.checked_mul(es).ok_or_else(overflow)?;
    if out_bytes > (data.len() as u64).max(MAX_EXPANDED_BYTES) {
        return Err(PthError::malformed_at(
            origin,
            Some(key),
            format!(
                "overlapping view would expand a {}-byte storage to {out_bytes} bytes",
                data.len()
            ),
        ));
    }
    let out_len = usize::try_from(out_bytes).map_err(|_| overflow())?;
    let mut out = Vec::new();
    out.try_reserve_exact(out_len).map_err(|_| {
        PthError::malformed_at(
            origin,
            Some(key),
            format!("cannot allocate {out_len} bytes"),
        )
    })?;
    let first = usize::try_from(first).map_err(|_| overflow())?;
    gather(data, es as usize, first, &t.shape, &t.stride, &mut out)
        .ok_or_else(|| PthError::malformed_at(origin, Some(key), "view outside its storage"))?;
    if t.negate {
        negate(dtype, &mut out).ok_or_else(|| {
            PthError::malformed_at(origin, Some(key), "negation bit on a bool tensor")
        })?;
    }
    Ok(RawTensor {
        dtype,
        shape: t.shape.clone(),
        data: out,
    })
}

/// Negates every element in place (`None` for bool, which has no negation).
fn negate(dtype: DType, data: &mut [u8]) -> Option<()> {
    let es = dtype.size_bytes();
    match dtype {
        DType::Bool => return None,
        DType::F32 | DType::F64 | DType::F16 | DType::BF16 => {
            // IEEE and bfloat16: flip the sign bit (the top bit of the last byte).
            for chunk in data.chunks_exact_mut(es) {
                if let Some(b) = chunk.last_mut() {
                    *b ^= 0x80;
                }
            }
        }
        DType::I64 | DType::I32 | DType::I16 | DType::I8 | DType::U8 => {
            // Two's complement, wrapping: !x + 1.
            for chunk in data.chunks_exact_mut(es) {
                let mut carry = true;
                for b in chunk.iter_mut() {
                    let (v, c) = (!*b).overflowing_add(u8::from(carry));
                    *b = v;
                    carry = c;
                }
            }
        }
    }
    Some(())
}

/// Appends the elements of a strided view to `out` in row-major order. `None` when an index
/// falls outside `src` (the caller has checked the bounds, so this does not happen).
fn gather(
    src: &[u8],
    es: usize,
    first: usize,
    shape: &[usize],
    stride: &[usize],
    out: &mut Vec<u8>,
) -> Option<()> {
    // Dimensions of size 1 do not move the position: drop them.
    let dims: Vec<(usize, usize)> = shape
        .iter()
        .zip(stride)
        .filter(|(&s, _)| s != 1)
        .map(|(&s, &st)| (s, st))
        .collect();
    let numel = dims
        .iter()
        .try_fold(1usize, |a, &(s, _)| a.checked_mul(s))?;
    // Contiguous row-major: one copy.
    let mut expect = 1usize;
    let mut contiguous = true;
    for &(size, st) in dims.iter().rev() {
        if st != expect {
            contiguous = false;
            break;
        }
        expect = expect.checked_mul(size)?;
    }
    if contiguous {
        let start = first.checked_mul(es)?;
        let end = first.checked_add(numel)?.checked_mul(es)?;
        out.extend_from_slice(src.get(start..end)?);
        return Some(());
    }
    let Some((&(inner_size, inner_stride), outer)) = dims.split_last() else {
        // Unreachable: no dimensions means contiguous.
        return None;
    };
    let mut idx = vec![0usize; outer.len()];
    loop {
        let mut pos = first;
        for (&i, &(_, st)) in idx.iter().zip(outer) {
            pos = pos.checked_add(i.checked_mul(st)?)?;
        }
        if inner_stride == 1 {
            let start = pos.checked_mul(es)?;
            let end = pos.checked_add(inner_size)?.checked_mul(es)?;
            out.extend_from_slice(src.get(start..end)?);
        } else {
            for j in 0..inner_size {
                let p = pos.checked_add(j.checked_mul(inner_stride)?)?;
                let start = p.checked_mul(es)?;
                out.extend_from_slice(src.get(start..start.checked_add(es)?)?);
            }
        }
        // Odometer over the outer dimensions.
        let mut d = outer.len();
        loop {
            if d == 0 {
                return Some(());
            }
            d -= 1;
            let (size, _) = *outer.get(d)?;
            let slot = idx.get_mut(d)?;
            *slot += 1;
            if *slot < size {
                break;
            }
            *slot = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gather_transposed() {
        // storage 0..6 as f32-sized 1-byte elements: view shape [3,2] stride [1,3]
        let src: Vec<u8> = (0u8..6).collect();
        let mut out = Vec::new();
        gather(&src, 1, 0, &[3, 2], &[1, 3], &mut out).unwrap();
        assert_eq!(out, vec![0, 3, 1, 4, 2, 5]);
    }

    #[test]
    fn gather_contiguous_offset_and_scalar() {
        let src: Vec<u8> = (0u8..8).collect();
        let mut out = Vec::new();
        gather(&src, 2, 1, &[2, 1], &[1, 1], &mut out).unwrap();
        assert_eq!(out, vec![2, 3, 4, 5]);
        out.clear();
        gather(&src, 2, 3, &[], &[], &mut out).unwrap();
        assert_eq!(out, vec![6, 7]);
    }

    #[test]
    fn negation() {
        let mut f = [1.5f32.to_le_bytes(), (-0.0f32).to_le_bytes()].concat();
        negate(DType::F32, &mut f).unwrap();
        assert_eq!(f, [(-1.5f32).to_le_bytes(), 0.0f32.to_le_bytes()].concat());
        let mut i = [
            5i16.to_le_bytes(),
            i16::MIN.to_le_bytes(),
            0i16.to_le_bytes(),
        ]
        .concat();
        negate(DType::I16, &mut i).unwrap();
        assert_eq!(
            i,
            [
                (-5i16).to_le_bytes(),
                i16::MIN.to_le_bytes(),
                0i16.to_le_bytes()
            ]
            .concat()
        );
        let mut u = vec![1u8, 0, 255];
        negate(DType::U8, &mut u).unwrap();
        assert_eq!(u, vec![255, 0, 1]);
        assert!(negate(DType::Bool, &mut [1u8]).is_none());
    }

    #[test]
    fn gather_expanded_and_out_of_range() {
        let src = vec![7u8, 9];
        let mut out = Vec::new();
        gather(&src, 1, 1, &[2, 3], &[0, 0], &mut out).unwrap();
        assert_eq!(out, vec![9; 6]);
        assert!(gather(&src, 1, 0, &[3], &[2], &mut Vec::new()).is_none());
    }
}
