//! A restricted pickle reader: just the opcodes `torch.save` writes for state dicts.
//!
//! Nothing is ever executed. Globals are looked up in a fixed allowlist (OrderedDict, the
//! tensor/parameter rebuild functions and the typed storage classes); any other global is
//! kept as an inert marker and reported as [`PthError::UnsupportedGlobal`] once the pickle
//! has been read, naming the state-dict key it sits under. Calls (`REDUCE`, `NEWOBJ`) of
//! allowed globals are interpreted directly; calls of anything else build an inert object.
//!
//! Memo entries are copies, not shared references: an object mutated after it was memoized
//! is seen unmutated through the memo (torch never relies on this). Copying is bounded by a
//! budget, and nesting depth is bounded, so no input can make the reader run out of stack or
//! memory.

use std::collections::HashMap;

use crate::pth::error::PthError;
use crate::pth::tensor::{DType, StorageRef, TensorRef};

/// Deepest nesting of containers accepted.
const MAX_DEPTH: u32 = 128;

/// A global from the allowlist.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Known {
    /// `collections.OrderedDict`.
    OrderedDict,
    /// `torch._utils._rebuild_tensor_v2`.
    RebuildTensorV2,
    /// `torch._utils._rebuild_tensor`.
    RebuildTensor,
    /// `torch._utils._rebuild_parameter`.
    RebuildParameter,
    /// `torch._utils._rebuild_parameter_with_state`.
    RebuildParameterWithState,
    /// `torch.FloatStorage` and the other typed storage classes.
    Storage(DType),
}

impl Known {
    fn lookup(module: &str, name: &str) -> Option<Known> {
        Some(match (module, name) {
            ("collections", "OrderedDict") => Known::OrderedDict,
            ("torch._utils", "_rebuild_tensor_v2") => Known::RebuildTensorV2,
            ("torch._utils", "_rebuild_tensor") => Known::RebuildTensor,
            ("torch._utils", "_rebuild_parameter") => Known::RebuildParameter,
            ("torch._utils", "_rebuild_parameter_with_state") => Known::RebuildParameterWithState,
            ("torch", storage) => Known::Storage(DType::from_storage_class(storage)?),
            _ => return None,
        })
    }

    fn name(self) -> String {
        match self {
            Known::OrderedDict => "collections.OrderedDict".to_owned(),
            Known::RebuildTensorV2 => "torch._utils._rebuild_tensor_v2".to_owned(),
            Known::RebuildTensor => "torch._utils._rebuild_tensor".to_owned(),
            Known::RebuildParameter => "torch._utils._rebuild_parameter".to_owned(),
            Known::RebuildParameterWithState => {
                "torch._utils._rebuild_parameter_with_state".to_owned()
            }
            Known::Storage(d) => format!("torch storage class of {}", d.name()),
        }
    }
}

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

    fn as_int(&self) -> Option<i128> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(i128::from(*b)),
            _ => None,
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            Value::Bytes(b) => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }
}

/// A value on the stack or in the memo, with its nesting depth and size (for the limits).
#[derive(Debug, Clone)]
struct Item {
    v: Value,
    depth: u32,
    weight: u64,
}

impl Item {
    fn leaf(v: Value) -> Item {
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

/// A truncated read inside the pickle.
struct Short {
    needed: u64,
    available: u64,
}

/// Reads one pickle from `data[start..]`, stopping at its `STOP` opcode.
///
/// `pickle` names the pickle in messages, whose byte offsets are offsets into `data`.
/// Returns the value and the offset just past `STOP`.
pub(crate) fn unpickle(
    data: &[u8],
    start: usize,
    origin: &str,
    pickle: &str,
) -> Result<(Value, usize), PthError> {
    let mut m = Machine {
        data,
        pos: start,
        origin,
        pickle,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        copy_budget: (1u64 << 22).saturating_add((data.len() as u64).saturating_mul(8)),
        refused: None,
        last_key: None,
        prev_key: None,
    };
    let result = m.run();
    match (result, m.refused.take()) {
        (Ok(v), Some(global)) => {
            let key = locate_refused(&v).map(str::to_owned);
            Err(PthError::UnsupportedGlobal {
                origin: origin.to_owned(),
                global,
                key,
            })
        }
        (Err(_), Some(global)) => Err(PthError::UnsupportedGlobal {
            origin: origin.to_owned(),
            global,
            key: m.last_key.take(),
        }),
        (Ok(v), None) => Ok((v, m.pos)),
        (Err(e), None) => Err(e),
    }
}

/// The state-dict key whose value uses a refused global (looking one level into a checkpoint
/// dict such as `{"state_dict": {...}}`).
fn locate_refused(root: &Value) -> Option<&str> {
    let Value::Dict(pairs) = root else {
        return None;
    };
    for (k, v) in pairs {
        if v.find_refused().is_none() {
            continue;
        }
        let wrapper = matches!(k.as_str(), Some("state_dict" | "model"));
        if let (true, Value::Dict(inner)) = (wrapper, v) {
            for (ik, iv) in inner {
                if iv.find_refused().is_some() {
                    if let Some(s) = ik.as_str() {
                        return Some(s);
                    }
                }
            }
        }
        return k.as_str();
    }
    None
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    origin: &'a str,
    pickle: &'a str,
    stack: Vec<Item>,
    marks: Vec<usize>,
    memo: HashMap<u32, Item>,
    copy_budget: u64,
    /// First global seen outside the allowlist.
    refused: Option<String>,
    /// Last string pushed in dict-key position near the top level (for messages).
    last_key: Option<String>,
    /// The one before.
    prev_key: Option<String>,
}

impl<'a> Machine<'a> {
    fn run(&mut self) -> Result<Value, PthError> {
        loop {
            let at = self.pos;
            let op = self.read_u8(at)?;
            match op {
                // PROTO
                0x80 => {
                    let v = self.read_u8(at)?;
                    if v > 5 {
                        return Err(self.malformed(format!("unknown pickle protocol {v}")));
                    }
                }
                // FRAME: the frame length is only a hint for buffering.
                0x95 => {
                    self.take(8, at)?;
                }
                // STOP
                b'.' => {
                    let item = self.pop(at)?;
                    return Ok(item.v);
                }
                // MARK
                b'(' => self.marks.push(self.stack.len()),
                b'}' => self.push(Item::leaf(Value::Dict(Vec::new()))),
                b']' => self.push(Item::leaf(Value::List(Vec::new()))),
                b')' => self.push(Item::leaf(Value::Tuple(Vec::new()))),
                b't' => {
                    let items = self.pop_mark(at)?;
                    let item = self.container(items, Value::Tuple)?;
                    self.push(item);
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    let split = self
                        .stack
                        .len()
                        .checked_sub(n)
                        .ok_or_else(|| self.underflow(at))?;
                    let items = self.stack.split_off(split);
                    let item = self.container(items, Value::Tuple)?;
                    self.push(item);
                }
                // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
                b'X' | 0x8c | 0x8d => {
                    let len = match op {
                        b'X' => u64::from(self.read_u32(at)?),
                        0x8c => u64::from(self.read_u8(at)?),
                        _ => self.read_u64(at)?,
                    };
                    let bytes = self.take(len, at)?;
                    let s = std::str::from_utf8(bytes)
                        .map_err(|_| self.malformed(format!("invalid UTF-8 string at {at}")))?
                        .to_owned();
                    self.push_str(s);
                }
                // BINSTRING, SHORT_BINSTRING (Python 2 str), BINBYTES, SHORT_BINBYTES
                b'T' | b'U' | b'B' | b'C' => {
                    let len = match op {
                        b'T' => {
                            let raw = self.read_u32(at)?;
                            if raw > i32::MAX as u32 {
                                return Err(self.malformed("negative BINSTRING length"));
                            }
                            u64::from(raw)
                        }
                        b'B' => u64::from(self.read_u32(at)?),
                        _ => u64::from(self.read_u8(at)?),
                    };
                    let bytes = self.take(len, at)?.to_vec();
                    if matches!(op, b'T' | b'U') {
                        match String::from_utf8(bytes) {
                            Ok(s) => self.push_str(s),
                            Err(e) => self.push(Item::leaf(Value::Bytes(e.into_bytes()))),
                        }
                    } else {
                        self.push(Item::leaf(Value::Bytes(bytes)));
                    }
                }
                // BININT, BININT1, BININT2
                b'J' => {
                    let v = i32::from_le_bytes(self.array(at)?);
                    self.push(Item::leaf(Value::Int(i128::from(v))));
                }
                b'K' => {
                    let v = self.read_u8(at)?;
                    self.push(Item::leaf(Value::Int(i128::from(v))));
                }
                b'M' => {
                    let v = u16::from_le_bytes(self.array(at)?);
                    self.push(Item::leaf(Value::Int(i128::from(v))));
                }
                // LONG1
                0x8a => {
                    let n = self.read_u8(at)?;
                    let bytes = self.take(u64::from(n), at)?;
                    let v = long_le(bytes).ok_or_else(|| {
                        self.malformed(format!("integer of {n} bytes at {at} is too large"))
                    })?;
                    self.push(Item::leaf(Value::Int(v)));
                }
                0x88 => self.push(Item::leaf(Value::Bool(true))),
                0x89 => self.push(Item::leaf(Value::Bool(false))),
                b'N' => self.push(Item::leaf(Value::None)),
                // BINFLOAT (big-endian)
                b'G' => {
                    let v = f64::from_be_bytes(self.array(at)?);
                    self.push(Item::leaf(Value::Float(v)));
                }
                // BINPUT, LONG_BINPUT, MEMOIZE
                b'q' | b'r' | 0x94 => {
                    let idx = match op {
                        b'q' => u32::from(self.read_u8(at)?),
                        b'r' => self.read_u32(at)?,
                        _ => u32::try_from(self.memo.len())
                            .map_err(|_| self.malformed("memo too large"))?,
                    };
                    let top = self.stack.last().ok_or_else(|| self.underflow(at))?;
                    let item = top.clone();
                    self.spend(item.weight)?;
                    self.memo.insert(idx, item);
                }
                // BINGET, LONG_BINGET
                b'h' | b'j' => {
                    let idx = if op == b'h' {
                        u32::from(self.read_u8(at)?)
                    } else {
                        self.read_u32(at)?
                    };
                    let item = self
                        .memo
                        .get(&idx)
                        .ok_or_else(|| {
                            self.malformed(format!(
                                "memo entry {idx} read at {at} was never stored"
                            ))
                        })?
                        .clone();
                    self.spend(item.weight)?;
                    if let Value::Str(s) = &item.v {
                        self.note_key(s.clone());
                    }
                    self.push(item);
                }
                // GLOBAL
                b'c' => {
                    let module = self.read_line(at)?;
                    let name = self.read_line(at)?;
                    let v = self.global(&module, &name);
                    self.push(Item::leaf(v));
                }
                // STACK_GLOBAL
                0x93 => {
                    let name = self.pop(at)?.v;
                    let module = self.pop(at)?.v;
                    // The name string was not a dict key after all.
                    if name.as_str().is_some() && name.as_str() == self.last_key.as_deref() {
                        self.last_key = self.prev_key.take();
                    }
                    let (Some(module), Some(name)) = (module.as_str(), name.as_str()) else {
                        return Err(self.malformed("STACK_GLOBAL with non-string operands"));
                    };
                    let v = self.global(module, name);
                    self.push(Item::leaf(v));
                }
                // REDUCE, NEWOBJ
                b'R' | 0x81 => {
                    let args = self.pop(at)?;
                    let callable = self.pop(at)?;
                    let item = self.call(callable, args)?;
                    self.push(item);
                }
                // BUILD: only OrderedDict attributes (`_metadata`) and inert objects get state.
                b'b' => {
                    // The state (`_metadata` of a state dict, attributes of an inert object) is
                    // dropped; a refused global inside it has already been recorded.
                    let _state = self.pop(at)?;
                    let top = self.stack.last().ok_or_else(|| self.underflow(at))?;
                    if !matches!(
                        top.v,
                        Value::Dict(_) | Value::Tensor(_) | Value::Object { .. }
                    ) {
                        let t = top.v.type_name();
                        return Err(self.malformed(format!("BUILD on {t} at {at}")));
                    }
                }
                // SETITEM, SETITEMS
                b's' | b'u' => {
                    let items = if op == b's' {
                        let split = self
                            .stack
                            .len()
                            .checked_sub(2)
                            .ok_or_else(|| self.underflow(at))?;
                        self.stack.split_off(split)
                    } else {
                        self.pop_mark(at)?
                    };
                    if items.len() % 2 != 0 {
                        return Err(
                            self.malformed(format!("odd number of items for SETITEMS at {at}"))
                        );
                    }
                    let (depth, weight) = grow(&items);
                    let mut top = self.pop(at)?;
                    let Value::Dict(pairs) = &mut top.v else {
                        let t = top.v.type_name();
                        return Err(self.malformed(format!("SETITEM on {t} at {at}")));
                    };
                    let mut it = items.into_iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        pairs.push((k.v, v.v));
                    }
                    top.depth = top.depth.max(depth);
                    top.weight = top.weight.saturating_add(weight);
                    if top.depth > MAX_DEPTH {
                        return Err(self.too_deep());
                    }
                    self.push(top);
                }
                // APPEND, APPENDS
                b'a' | b'e' => {
                    let items = if op == b'a' {
                        vec![self.pop(at)?]
                    } else {
                        self.pop_mark(at)?
                    };
                    let (depth, weight) = grow(&items);
                    let mut top = self.pop(at)?;
                    let Value::List(list) = &mut top.v else {
                        let t = top.v.type_name();
                        return Err(self.malformed(format!("APPEND on {t} at {at}")));
                    };
                    list.extend(items.into_iter().map(|i| i.v));
                    top.depth = top.depth.max(depth);
                    top.weight = top.weight.saturating_add(weight);
                    if top.depth > MAX_DEPTH {
                        return Err(self.too_deep());
                    }
                    self.push(top);
                }
                // BINPERSID
                b'Q' => {
                    let pid = self.pop(at)?;
                    let v = self.persistent_load(pid.v)?;
                    self.push(Item::leaf(v));
                }
                other => {
                    return Err(PthError::UnsupportedOpcode {
                        origin: self.origin.to_owned(),
                        pickle: self.pickle.to_owned(),
                        opcode: other,
                        name: opcode_name(other),
                        offset: at as u64,
                    })
                }
            }
        }
    }

    // ---- reading ----

    fn take(&mut self, n: u64, at: usize) -> Result<&'a [u8], PthError> {
        let available = self.data.len().saturating_sub(self.pos);
        let data: &'a [u8] = self.data;
        let slice = usize::try_from(n)
            .ok()
            .and_then(|n| self.pos.checked_add(n))
            .and_then(|end| data.get(self.pos..end));
        match slice {
            Some(s) => {
                self.pos += s.len();
                Ok(s)
            }
            None => Err(self.short(
                at,
                Short {
                    needed: n,
                    available: available as u64,
                },
            )),
        }
    }

    fn array<const N: usize>(&mut self, at: usize) -> Result<[u8; N], PthError> {
        let b = self.take(N as u64, at)?;
        <[u8; N]>::try_from(b).map_err(|_| self.malformed(format!("short read at {at}")))
    }

    fn read_u8(&mut self, at: usize) -> Result<u8, PthError> {
        let [b] = self.array::<1>(at)?;
        Ok(b)
    }

    fn read_u32(&mut self, at: usize) -> Result<u32, PthError> {
        Ok(u32::from_le_bytes(self.array(at)?))
    }

    fn read_u64(&mut self, at: usize) -> Result<u64, PthError> {
        Ok(u64::from_le_bytes(self.array(at)?))
    }

    fn read_line(&mut self, at: usize) -> Result<String, PthError> {
        let data: &'a [u8] = self.data;
        let rest = data.get(self.pos..).unwrap_or_default();
        let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
            return Err(self.short(
                at,
                Short {
                    needed: rest.len() as u64 + 1,
                    available: rest.len() as u64,
                },
            ));
        };
        let line = rest.get(..nl).unwrap_or_default();
        let s = std::str::from_utf8(line)
            .map_err(|_| self.malformed(format!("GLOBAL name at {at} is not UTF-8")))?
            .to_owned();
        self.pos += nl + 1;
        Ok(s)
    }

    // ---- stack ----

    fn push(&mut self, item: Item) {
        self.stack.push(item);
    }

    fn push_str(&mut self, s: String) {
        self.note_key(s.clone());
        self.push(Item::leaf(Value::Str(s)));
    }

    /// Remembers a string that sits in key position of a dict near the top level.
    fn note_key(&mut self, s: String) {
        let Some(&mark) = self.marks.last() else {
            return;
        };
        if self.marks.len() <= 2 && (self.stack.len().saturating_sub(mark)) % 2 == 0 {
            self.prev_key = self.last_key.replace(s);
        }
    }

    fn pop(&mut self, at: usize) -> Result<Item, PthError> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(self.underflow(at));
        }
        self.stack.pop().ok_or_else(|| self.underflow(at))
    }

    fn pop_mark(&mut self, at: usize) -> Result<Vec<Item>, PthError> {
        let mark = self.marks.pop().ok_or_else(|| {
            self.malformed(format!("opcode at {at} needs a MARK but there is none"))
        })?;
        if mark > self.stack.len() {
            return Err(self.underflow(at));
        }
        Ok(self.stack.split_off(mark))
    }

    fn container(&self, items: Vec<Item>, wrap: fn(Vec<Value>) -> Value) -> Result<Item, PthError> {
        let (depth, weight) = grow(&items);
        if depth > MAX_DEPTH {
            return Err(self.too_deep());
        }
        Ok(Item {
            v: wrap(items.into_iter().map(|i| i.v).collect()),
            depth: depth.max(1),
            weight,
        })
    }

    fn spend(&mut self, weight: u64) -> Result<(), PthError> {
        self.copy_budget = self
            .copy_budget
            .checked_sub(weight)
            .ok_or_else(|| self.malformed("memo copies exceed the size limit (pickle bomb?)"))?;
        Ok(())
    }

    // ---- semantics ----

    fn global(&mut self, module: &str, name: &str) -> Value {
        match Known::lookup(module, name) {
            Some(k) => Value::Known(k),
            None => {
                let full = format!("{module}.{name}");
                if self.refused.is_none() {
                    self.refused = Some(full.clone());
                }
                Value::Refused(full)
            }
        }
    }

    fn call(&mut self, callable: Item, args: Item) -> Result<Item, PthError> {
        let known = match callable.v {
            Value::Known(k) => k,
            Value::Refused(class) => {
                let (depth, weight) = grow(std::slice::from_ref(&args));
                if depth > MAX_DEPTH {
                    return Err(self.too_deep());
                }
                return Ok(Item {
                    v: Value::Object {
                        class,
                        args: Box::new(args.v),
                    },
                    depth,
                    weight,
                });
            }
            other => {
                let t = other.type_name();
                return Err(self.malformed(format!("cannot call {t}")));
            }
        };
        let (args_depth, args_weight) = (args.depth, args.weight);
        let args = match args.v {
            Value::Tuple(a) => a,
            other => {
                let t = other.type_name();
                return Err(self.malformed(format!(
                    "arguments of {} are {t}, not a tuple",
                    known.name()
                )));
            }
        };
        let v = match known {
            Known::OrderedDict => match args.as_slice() {
                [] => Value::Dict(Vec::new()),
                [Value::List(pairs)] => {
                    let mut out = Vec::with_capacity(pairs.len());
                    for p in pairs {
                        match p {
                            Value::Tuple(kv) | Value::List(kv) => match kv.as_slice() {
                                [k, v] => out.push((k.clone(), v.clone())),
                                _ => return Err(self.malformed("OrderedDict item is not a pair")),
                            },
                            _ => return Err(self.malformed("OrderedDict item is not a pair")),
                        }
                    }
                    // The dict holds what the arguments held: keep their depth and weight.
                    return Ok(Item {
                        v: Value::Dict(out),
                        depth: args_depth,
                        weight: args_weight,
                    });
                }
                _ => return Err(self.malformed("unexpected OrderedDict arguments")),
            },
            Known::RebuildTensorV2 | Known::RebuildTensor => {
                let n = args.len();
                let ok = if known == Known::RebuildTensor {
                    n == 4
                } else {
                    n == 6 || n == 7
                };
                if !ok {
                    return Err(
                        self.malformed(format!("{} called with {n} arguments", known.name()))
                    );
                }
                Value::Tensor(self.rebuild_tensor(&args)?)
            }
            Known::RebuildParameter | Known::RebuildParameterWithState => {
                let want = if known == Known::RebuildParameter {
                    3
                } else {
                    4
                };
                match args.first() {
                    Some(Value::Tensor(t)) if args.len() == want => Value::Tensor(t.clone()),
                    _ => {
                        return Err(self.malformed(format!(
                            "{} called without a tensor or with {} arguments",
                            known.name(),
                            args.len()
                        )))
                    }
                }
            }
            Known::Storage(_) => {
                return Err(self.malformed("a storage class is called instead of loaded"))
            }
        };
        Ok(Item::leaf(v))
    }

    fn rebuild_tensor(&self, args: &[Value]) -> Result<TensorRef, PthError> {
        let [storage, offset, size, stride, ..] = args else {
            return Err(self.malformed("too few tensor arguments"));
        };
        let Value::Storage(storage) = storage else {
            let t = storage.type_name();
            return Err(self.malformed(format!("tensor storage is {t}")));
        };
        let offset = offset
            .as_int()
            .and_then(|i| u64::try_from(i).ok())
            .ok_or_else(|| self.malformed("tensor storage offset is not a non-negative int"))?;
        let shape = self.usize_tuple(size, "size")?;
        let stride = self.usize_tuple(stride, "stride")?;
        if shape.len() != stride.len() {
            return Err(self.malformed(format!(
                "tensor size {shape:?} and stride {stride:?} differ in length"
            )));
        }
        // `_rebuild_tensor_v2`'s optional 7th argument: `{'neg': True}` for a lazily negated
        // view, `{'conj': ...}` (meaningless for real types). Anything else is refused.
        let mut negate = false;
        match args.get(6) {
            None | Some(Value::None) => {}
            Some(Value::Dict(pairs)) => {
                for (k, v) in pairs {
                    match (k.as_str(), v) {
                        (Some("neg"), Value::Bool(b)) => negate = *b,
                        (Some("conj"), Value::Bool(false)) => {}
                        _ => {
                            return Err(
                                self.malformed(format!("unsupported tensor metadata {k:?}: {v:?}"))
                            )
                        }
                    }
                }
            }
            Some(other) => {
                let t = other.type_name();
                return Err(self.malformed(format!("tensor metadata is {t}")));
            }
        }
        Ok(TensorRef {
            storage: storage.clone(),
            offset,
            shape,
            stride,
            negate,
        })
    }

    fn usize_tuple(&self, v: &Value, what: &str) -> Result<Vec<usize>, PthError> {
        let (Value::Tuple(items) | Value::List(items)) = v else {
            let t = v.type_name();
            return Err(self.malformed(format!("tensor {what} is {t}")));
        };
        items
            .iter()
            .map(|i| {
                i.as_int()
                    .and_then(|i| usize::try_from(i).ok())
                    .ok_or_else(|| self.malformed(format!("tensor {what} holds {}", i.type_name())))
            })
            .collect()
    }

    /// `('storage', storage_class, key, location, numel[, view_metadata])`.
    fn persistent_load(&self, pid: Value) -> Result<Value, PthError> {
        let Value::Tuple(items) = pid else {
            let t = pid.type_name();
            return Err(self.malformed(format!("persistent id is {t}, not a tuple")));
        };
        let kind = items.first().and_then(Value::as_str).unwrap_or_default();
        if kind != "storage" {
            return Err(self.malformed(format!(
                "persistent id of kind {kind:?} (only 'storage' belongs in a state dict)"
            )));
        }
        let (class, key, numel, view) = match items.as_slice() {
            [_, class, key, _location, numel] => (class, key, numel, None),
            [_, class, key, _location, numel, view] => (class, key, numel, Some(view)),
            _ => {
                return Err(
                    self.malformed(format!("storage persistent id has {} fields", items.len()))
                )
            }
        };
        let dtype = match class {
            Value::Known(Known::Storage(d)) => *d,
            Value::Refused(g) => {
                return Err(PthError::UnsupportedGlobal {
                    origin: self.origin.to_owned(),
                    global: g.clone(),
                    key: self.last_key.clone(),
                })
            }
            other => {
                let t = other.type_name();
                return Err(self.malformed(format!("storage class is {t}")));
            }
        };
        let key = match key {
            Value::Int(i) => i.to_string(),
            other => other
                .as_str()
                .ok_or_else(|| self.malformed("storage key is not a string"))?
                .to_owned(),
        };
        let numel = numel
            .as_int()
            .and_then(|i| u64::try_from(i).ok())
            .ok_or_else(|| self.malformed("storage size is not a non-negative int"))?;
        let view = match view {
            None | Some(Value::None) => None,
            Some(Value::Tuple(v)) => match v.as_slice() {
                [_view_key, off, size] => {
                    let off = off.as_int().and_then(|i| u64::try_from(i).ok());
                    let size = size.as_int().and_then(|i| u64::try_from(i).ok());
                    match (off, size) {
                        (Some(o), Some(s)) if o.checked_add(s).is_some_and(|e| e <= numel) => {
                            Some((o, s))
                        }
                        _ => return Err(self.malformed("storage view outside its storage")),
                    }
                }
                _ => return Err(self.malformed("malformed storage view metadata")),
            },
            Some(other) => {
                let t = other.type_name();
                return Err(self.malformed(format!("storage view metadata is {t}")));
            }
        };
        Ok(Value::Storage(StorageRef {
            key,
            dtype,
            numel,
            view,
        }))
    }

    // ---- errors ----

    fn malformed(&self, detail: impl Into<String>) -> PthError {
        PthError::Malformed {
            origin: self.origin.to_owned(),
            key: self.last_key.clone(),
            detail: format!("{}: {}", self.pickle, detail.into()),
        }
    }

    fn underflow(&self, at: usize) -> PthError {
        self.malformed(format!("stack underflow at byte {at}"))
    }

    fn too_deep(&self) -> PthError {
        self.malformed(format!("containers nested deeper than {MAX_DEPTH}"))
    }

    fn short(&self, at: usize, s: Short) -> PthError {
        // The key whose value was being read when the pickle ended (a hint: the last string
        // seen in key position of the state dict).
        PthError::Truncated {
            origin: self.origin.to_owned(),
            key: self.last_key.clone(),
            record: format!("{} at byte offset {}", self.pickle, at),
            expected: s.needed,
            available: s.available,
        }
    }
}

/// Depth (one more than the deepest child) and total weight of a new container's children.
fn grow(items: &[Item]) -> (u32, u64) {
    let depth = items.iter().map(|i| i.depth).max().unwrap_or(0) + 1;
    let weight = items
        .iter()
        .fold(1u64, |acc, i| acc.saturating_add(i.weight));
    (depth, weight)
}

/// A little-endian two's-complement integer of at most 16 bytes.
fn long_le(bytes: &[u8]) -> Option<i128> {
    if bytes.len() > 16 {
        return None;
    }
    let negative = bytes.last().is_some_and(|&b| b & 0x80 != 0);
    let mut buf = if negative { [0xffu8; 16] } else { [0u8; 16] };
    buf.get_mut(..bytes.len())?.copy_from_slice(bytes);
    Some(i128::from_le_bytes(buf))
}

/// The `pickletools` name of an opcode.
pub(crate) fn opcode_name(op: u8) -> &'static str {
    match op {
        b'(' => "MARK",
        b'.' => "STOP",
        b'0' => "POP",
        b'1' => "POP_MARK",
        b'2' => "DUP",
        b'F' => "FLOAT",
        b'I' => "INT",
        b'J' => "BININT",
        b'K' => "BININT1",
        b'L' => "LONG",
        b'M' => "BININT2",
        b'N' => "NONE",
        b'P' => "PERSID",
        b'Q' => "BINPERSID",
        b'R' => "REDUCE",
        b'S' => "STRING",
        b'T' => "BINSTRING",
        b'U' => "SHORT_BINSTRING",
        b'V' => "UNICODE",
        b'X' => "BINUNICODE",
        b'a' => "APPEND",
        b'b' => "BUILD",
        b'c' => "GLOBAL",
        b'd' => "DICT",
        b'}' => "EMPTY_DICT",
        b'e' => "APPENDS",
        b'g' => "GET",
        b'h' => "BINGET",
        b'i' => "INST",
        b'j' => "LONG_BINGET",
        b'l' => "LIST",
        b']' => "EMPTY_LIST",
        b'o' => "OBJ",
        b'p' => "PUT",
        b'q' => "BINPUT",
        b'r' => "LONG_BINPUT",
        b's' => "SETITEM",
        b't' => "TUPLE",
        b')' => "EMPTY_TUPLE",
        b'u' => "SETITEMS",
        b'G' => "BINFLOAT",
        b'B' => "BINBYTES",
        b'C' => "SHORT_BINBYTES",
        0x80 => "PROTO",
        0x81 => "NEWOBJ",
        0x82 => "EXT1",
        0x83 => "EXT2",
        0x84 => "EXT4",
        0x85 => "TUPLE1",
        0x86 => "TUPLE2",
        0x87 => "TUPLE3",
        0x88 => "NEWTRUE",
        0x89 => "NEWFALSE",
        0x8a => "LONG1",
        0x8b => "LONG4",
        0x8c => "SHORT_BINUNICODE",
        0x8d => "BINUNICODE8",
        0x8e => "BINBYTES8",
        0x8f => "EMPTY_SET",
        0x90 => "ADDITEMS",
        0x91 => "FROZENSET",
        0x92 => "NEWOBJ_EX",
        0x93 => "STACK_GLOBAL",
        0x94 => "MEMOIZE",
        0x95 => "FRAME",
        0x96 => "BYTEARRAY8",
        0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER",
        _ => "unknown opcode",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(bytes: &[u8]) -> Result<Value, PthError> {
        unpickle(bytes, 0, "test", "pickle").map(|(v, _)| v)
    }

    #[test]
    fn small_values() {
        // (1, -2, 'ab', None, True, 2**70)
        let v = run(b"\x80\x02(K\x01J\xfe\xff\xff\xffX\x02\x00\x00\x00abN\x88\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x40t.").unwrap();
        assert_eq!(
            v,
            Value::Tuple(vec![
                Value::Int(1),
                Value::Int(-2),
                Value::Str("ab".into()),
                Value::None,
                Value::Bool(true),
                Value::Int(1i128 << 70),
            ])
        );
        assert_eq!(long_le(&[0xff]), Some(-1));
        assert_eq!(long_le(&[]), Some(0));
        assert_eq!(long_le(&[0; 17]), None);
    }

    #[test]
    fn unknown_opcode_named_with_offset() {
        let e = run(b"\x80\x02\x8f.").unwrap_err().to_string();
        assert!(e.contains("EMPTY_SET") && e.contains("offset 2"), "{e}");
    }

    #[test]
    fn refused_global_is_not_called() {
        let e = run(b"cos\nsystem\nX\x04\x00\x00\x00echo\x85R.")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`os.system`"), "{e}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut p = b"\x80\x02N".to_vec();
        p.extend(std::iter::repeat_n(0x85u8, 10_000));
        p.push(b'.');
        let e = run(&p).unwrap_err().to_string();
        assert!(e.contains("nested deeper"), "{e}");
    }

    #[test]
    fn deep_ordered_dicts_are_refused() {
        // x = None; repeat: x = OrderedDict([(1, x)])
        let mut p = b"\x80\x02ccollections\nOrderedDict\nq\x00Nq\x01".to_vec();
        for _ in 0..200 {
            p.extend_from_slice(b"h\x00]K\x01h\x01\x86a\x85Rq\x01");
        }
        p.push(b'.');
        let e = run(&p).unwrap_err().to_string();
        assert!(e.contains("nested deeper"), "{e}");
    }

    #[test]
    fn memo_bomb_is_refused() {
        // l = [ ]; repeat: l = [l, l]  (doubling through the memo)
        let mut p = b"\x80\x02]q\x00".to_vec();
        for _ in 0..60 {
            p.extend_from_slice(b"h\x00h\x00\x86q\x00");
        }
        p.push(b'.');
        let e = run(&p).unwrap_err().to_string();
        assert!(
            e.contains("nested deeper") || e.contains("size limit"),
            "{e}"
        );
    }

    #[test]
    fn truncated_pickle() {
        let e = run(b"\x80\x02X\x10\x00\x00\x00ab").unwrap_err();
        match e {
            PthError::Truncated {
                expected,
                available,
                ..
            } => assert_eq!((expected, available), (16, 2)),
            other => panic!("{other}"),
        }
    }
}
