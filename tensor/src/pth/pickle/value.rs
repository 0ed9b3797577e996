//! The values of the pickle machine, and the items that carry them on its stack and in its
//! memo with their nesting depth and size (for the limits).

use super::allowed::Known;
use crate::pth::tensor::{StorageRef, TensorRef};

/// A value of the pickle machine.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An integer (at most 128 bits).
    Int(i128),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A bytes object (or a Python 2 string that is not UTF-8).
    Bytes(Vec<u8>),
    /// A tuple.
    Tuple(Vec<Value>),
    /// A list.
    List(Vec<Value>),
    /// A dict or OrderedDict, in insertion order.
    Dict(Vec<(Value, Value)>),
    /// An allowed global.
    Known(Known),
    /// A global outside the allowlist, as `module.name`.
    Refused(String),
    /// The inert result of calling a refused global (nothing was called).
    Object {
        /// The refused class or function, as `module.name`.
        class: String,
        /// Its arguments.
        args: Box<Value>,
    },
    /// A storage from a persistent id.
    Storage(StorageRef),
    /// A tensor view.
    Tensor(TensorRef),
}

impl Value {
    /// Python's name of the value's type, for messages.
    pub(crate) fn type_name(&self) -> String {
        match self {
            Value::None => "None".to_owned(),
            Value::Bool(_) => "a bool".to_owned(),
            Value::Int(_) => "an int".to_owned(),
            Value::Float(_) => "a float".to_owned(),
            Value::Str(_) => "a str".to_owned(),
            Value::Bytes(_) => "a bytes object".to_owned(),
            Value::Tuple(_) => "a tuple".to_owned(),
            Value::List(_) => "a list".to_owned(),
            Value::Dict(_) => "a dict".to_owned(),
            Value::Known(k) => format!("the global {}", k.name()),
            Value::Refused(g) => format!("the global {g}"),
            Value::Object { class, .. } => format!("an object of class {class}"),
            Value::Storage(_) => "a storage".to_owned(),
            Value::Tensor(_) => "a tensor".to_owned(),
        }
    }

    /// The first refused global used anywhere inside the value.
    pub(crate) fn find_refused(&self) -> Option<&str> {
        match self {
            Value::Refused(g) => Some(g),
            Value::Object { class, .. } => Some(class),
            Value::Tuple(items) | Value::List(items) => items.iter().find_map(Value::find_refused),
            Value::Dict(pairs) => pairs
                .iter()
                .find_map(|(k, v)| k.find_refused().or_else(|| v.find_refused())),
            _ => None,
        }
    }

    pub(crate) fn as_int(&self) -> Option<i128> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(i128::from(*b)),
            _ => None,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            Value::Bytes(b) => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }
}

/// A value on the stack or in the memo, with its nesting depth and size (for the limits).
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub(crate) v: Value,
    pub(crate) depth: u32,
    pub(crate) weight: u64,
}

impl Item {
    pub(crate) fn leaf(v: Value) -> Item {
        let weight = match &v {
            Value::Str(s) => 1 + s.len() as u64,
            Value::Bytes(b) => 1 + b.len() as u64,
            Value::Tensor(t) => 4 + 2 * t.shape.len() as u64 + t.storage.key.len() as u64,
            Value::Storage(s) => 2 + s.key.len() as u64,
            _ => 1,
        };
        Item {
            v,
            depth: 1,
            weight,
        }
    }
}

/// Depth (one more than the deepest child) and total weight of a new container's children.
pub(crate) fn grow(items: &[Item]) -> (u32, u64) {
    let depth = items.iter().map(|i| i.depth).max().unwrap_or(0) + 1;
    let weight = items
        .iter()
        .fold(1u64, |acc, i| acc.saturating_add(i.weight));
    (depth, weight)
}

/// A little-endian two's-complement integer of at most 16 bytes.
pub(crate) fn long_le(bytes: &[u8]) -> Option<i128> {
    if bytes.len() > 16 {
        return None;
    }
    let negative = bytes.last().is_some_and(|&b| b & 0x80 != 0);
    let mut buf = if negative { [0xffu8; 16] } else { [0u8; 16] };
    buf.get_mut(..bytes.len())?.copy_from_slice(bytes);
    Some(i128::from_le_bytes(buf))
}
