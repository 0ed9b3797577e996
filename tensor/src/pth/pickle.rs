//! A restricted unpickler: it understands the opcodes `torch.save` writes and builds plain
//! values. It never imports or calls anything: a global is kept as its name, and calling a
//! global that is not on the allow-list yields [`Value::Refused`], reported later with the
//! state-dict key it sits under.

use std::collections::HashMap;

use super::dtype::DType;
use super::PthError;

/// A value built by the unpickler.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `None`.
    None,
    /// `True`/`False`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// Bytes.
    Bytes(Vec<u8>),
    /// A tuple.
    Tuple(Vec<Value>),
    /// A list.
    List(Vec<Value>),
    /// A dict (insertion order kept).
    Dict(Vec<(Value, Value)>),
    /// A global, by `module.name` (not imported).
    Global(String),
    /// A storage reference from a persistent id.
    Storage {
        /// Element type.
        dtype: DType,
        /// Key of the storage record.
        key: String,
        /// Number of elements.
        numel: usize,
    },
    /// A tensor view of a storage.
    Tensor(TensorView),
    /// The result of calling a global that is not allowed (never called).
    Refused(String),
}

/// A tensor as `_rebuild_tensor_v2` describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorView {
    /// Element type.
    pub dtype: DType,
    /// Storage record key.
    pub key: String,
    /// Elements in the storage.
    pub storage_numel: usize,
    /// Offset in elements.
    pub offset: usize,
    /// Sizes.
    pub shape: Vec<usize>,
    /// Strides in elements.
    pub strides: Vec<usize>,
}

/// Globals that may appear in a state dict, and what calling them means.
fn allowed(global: &str) -> bool {
    matches!(
        global,
        "collections.OrderedDict"
            | "torch._utils._rebuild_tensor_v2"
            | "torch._utils._rebuild_tensor"
            | "torch._utils._rebuild_parameter"
            | "torch._utils._rebuild_parameter_with_state"
    ) || DType::from_storage_class(global).is_some()
        || global.starts_with("torch.") && DType::from_torch_dtype(global).is_some()
}

/// The stack machine.
pub(crate) struct Unpickler<'a> {
    data: &'a [u8],
    pos: usize,
    origin: &'a str,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
}

impl<'a> Unpickler<'a> {
    pub fn new(data: &'a [u8], origin: &'a str) -> Self {
        Unpickler {
            data,
            pos: 0,
            origin,
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
        }
    }

    /// Bytes consumed so far (legacy files hold several pickles back to back).
    pub fn position(&self) -> usize {
        self.pos
    }

    fn err(&self, problem: impl Into<String>) -> PthError {
        PthError::Malformed {
            origin: self.origin.to_string(),
            problem: format!("{} (pickle byte {})", problem.into(), self.pos),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], PthError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        match end {
            Some(e) => {
                let s = &self.data[self.pos..e];
                self.pos = e;
                Ok(s)
            }
            None => Err(PthError::Truncated {
                origin: self.origin.to_string(),
                what: "the pickle stream".into(),
                expected: n as u64,
                available: (self.data.len().saturating_sub(self.pos)) as u64,
            }),
        }
    }

    fn u8(&mut self) -> Result<u8, PthError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, PthError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, PthError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, PthError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn line(&mut self) -> Result<String, PthError> {
        let rest = &self.data[self.pos.min(self.data.len())..];
        let n = rest
            .iter()
            .position(|&c| c == b'\n')
            .ok_or_else(|| self.err("unterminated text line"))?;
        let s = String::from_utf8_lossy(&rest[..n]).into_owned();
        self.pos += n + 1;
        Ok(s)
    }
    fn string(&mut self, n: usize) -> Result<String, PthError> {
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| self.err("invalid UTF-8 string"))
    }
    fn pop(&mut self) -> Result<Value, PthError> {
        if self.marks.last().is_some_and(|&m| m >= self.stack.len()) {
            return Err(self.err("stack underflow at a mark"));
        }
        self.stack.pop().ok_or_else(|| self.err("stack underflow"))
    }
    fn pop_mark(&mut self) -> Result<Vec<Value>, PthError> {
        let m = self
            .marks
            .pop()
            .ok_or_else(|| self.err("no mark on the stack"))?;
        if m > self.stack.len() {
            return Err(self.err("mark beyond the stack"));
        }
        Ok(self.stack.split_off(m))
    }
    fn top_mut(&mut self) -> Result<&mut Value, PthError> {
        let err = self.err("stack underflow");
        self.stack.last_mut().ok_or(err)
    }
    fn memo_get(&self, k: u32) -> Result<Value, PthError> {
        self.memo
            .get(&k)
            .cloned()
            .ok_or_else(|| self.err(format!("memo entry {k} missing")))
    }
    fn memo_put(&mut self, k: u32) -> Result<(), PthError> {
        let v = self
            .stack
            .last()
            .cloned()
            .ok_or_else(|| self.err("memoize on an empty stack"))?;
        self.memo.insert(k, v);
        Ok(())
    }

    /// Runs one pickle up to its STOP and returns its value.
    pub fn load(&mut self) -> Result<Value, PthError> {
        self.stack.clear();
        self.marks.clear();
        self.memo.clear();
        loop {
            let op = self.u8()?;
            match op {
                0x80 => {
                    self.u8()?; // PROTO
                }
                0x95 => {
                    self.u64()?; // FRAME
                }
                b'.' => return self.pop(),
                b'(' => {
                    self.marks.push(self.stack.len());
                }
                b'}' => self.stack.push(Value::Dict(Vec::new())),
                b']' => self.stack.push(Value::List(Vec::new())),
                b')' => self.stack.push(Value::Tuple(Vec::new())),
                b't' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::Tuple(items));
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.pop()?);
                    }
                    items.reverse();
                    self.stack.push(Value::Tuple(items));
                }
                b'X' => {
                    let n = self.u32()? as usize;
                    let s = self.string(n)?;
                    self.stack.push(Value::Str(s));
                }
                0x8c => {
                    let n = self.u8()? as usize;
                    let s = self.string(n)?;
                    self.stack.push(Value::Str(s));
                }
                0x8d => {
                    let n = usize::try_from(self.u64()?).map_err(|_| self.err("string too long"))?;
                    let s = self.string(n)?;
                    self.stack.push(Value::Str(s));
                }
                b'T' => {
                    let n = self.u32()? as usize;
                    let b = self.take(n)?.to_vec();
                    self.stack.push(Value::Bytes(b));
                }
                b'U' => {
                    let n = self.u8()? as usize;
                    let b = self.take(n)?.to_vec();
                    self.stack.push(Value::Bytes(b));
                }
                b'C' => {
                    let n = self.u8()? as usize;
                    let b = self.take(n)?.to_vec();
                    self.stack.push(Value::Bytes(b));
                }
                b'B' => {
                    let n = self.u32()? as usize;
                    let b = self.take(n)?.to_vec();
                    self.stack.push(Value::Bytes(b));
                }
                b'J' => {
                    let v = self.u32()? as i32;
                    self.stack.push(Value::Int(v as i64));
                }
                b'K' => {
                    let v = self.u8()?;
                    self.stack.push(Value::Int(v as i64));
                }
                b'M' => {
                    let v = self.u16()?;
                    self.stack.push(Value::Int(v as i64));
                }
                0x8a => {
                    let n = self.u8()? as usize;
                    let b = self.take(n)?;
                    if n > 8 {
                        // Only the magic number of legacy files is this long; keep its low bits.
                        let mut a = [0u8; 8];
                        a.copy_from_slice(&b[..8]);
                        self.stack.push(Value::Int(i64::from_le_bytes(a)));
                    } else {
                        let mut a = [0u8; 8];
                        a[..n].copy_from_slice(b);
                        if n > 0 && n < 8 && b[n - 1] & 0x80 != 0 {
                            for x in a.iter_mut().skip(n) {
                                *x = 0xff;
                            }
                        }
                        self.stack.push(Value::Int(i64::from_le_bytes(a)));
                    }
                }
                b'G' => {
                    let b = self.take(8)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    self.stack.push(Value::Float(f64::from_be_bytes(a)));
                }
                0x88 => self.stack.push(Value::Bool(true)),
                0x89 => self.stack.push(Value::Bool(false)),
                b'N' => self.stack.push(Value::None),
                b'q' => {
                    let k = self.u8()? as u32;
                    self.memo_put(k)?;
                }
                b'r' => {
                    let k = self.u32()?;
                    self.memo_put(k)?;
                }
                0x94 => {
                    let k = self.memo.len() as u32;
                    self.memo_put(k)?;
                }
                b'h' => {
                    let k = self.u8()? as u32;
                    let v = self.memo_get(k)?;
                    self.stack.push(v);
                }
                b'j' => {
                    let k = self.u32()?;
                    let v = self.memo_get(k)?;
                    self.stack.push(v);
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.stack.push(Value::Global(format!("{module}.{name}")));
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Value::Str(m), Value::Str(n)) => {
                            self.stack.push(Value::Global(format!("{m}.{n}")))
                        }
                        _ => return Err(self.err("STACK_GLOBAL needs two strings")),
                    }
                }
                b'R' => {
                    let args = self.pop()?;
                    let func = self.pop()?;
                    let v = self.call(func, args)?;
                    self.stack.push(v);
                }
                0x81 => {
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    let v = self.call(cls, args)?;
                    self.stack.push(v);
                }
                b'b' => {
                    let _state = self.pop()?; // BUILD: state of an OrderedDict (`_metadata`)
                    if matches!(self.top_mut()?, Value::Dict(_) | Value::Refused(_)) {
                        continue;
                    }
                    return Err(self.err("BUILD on an object that is not a dict"));
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    match self.top_mut()? {
                        Value::Dict(d) => d.push((k, v)),
                        _ => return Err(PthError::Malformed {
                            origin: self.origin.to_string(),
                            problem: "SETITEM on a value that is not a dict".into(),
                        }),
                    }
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    let origin = self.origin.to_string();
                    match self.top_mut()? {
                        Value::Dict(d) => {
                            let mut it = items.into_iter();
                            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                                d.push((k, v));
                            }
                        }
                        _ => {
                            return Err(PthError::Malformed {
                                origin,
                                problem: "SETITEMS on a value that is not a dict".into(),
                            })
                        }
                    }
                }
                b'a' => {
                    let v = self.pop()?;
                    match self.top_mut()? {
                        Value::List(l) => l.push(v),
                        _ => return Err(PthError::Malformed {
                            origin: self.origin.to_string(),
                            problem: "APPEND on a value that is not a list".into(),
                        }),
                    }
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    let origin = self.origin.to_string();
                    match self.top_mut()? {
                        Value::List(l) => l.extend(items),
                        _ => {
                            return Err(PthError::Malformed {
                                origin,
                                problem: "APPENDS on a value that is not a list".into(),
                            })
                        }
                    }
                }
                b'Q' => {
                    let pid = self.pop()?;
                    let v = self.persistent(pid)?;
                    self.stack.push(v);
                }
                other => {
                    return Err(PthError::Unsupported {
                        origin: self.origin.to_string(),
                        what: format!(
                            "pickle opcode 0x{other:02x} at byte {} (not used by torch.save state dicts)",
                            self.pos - 1
                        ),
                    })
                }
            }
        }
    }

    /// `('storage', storage_type, key, location, numel[, view_metadata])`.
    fn persistent(&self, pid: Value) -> Result<Value, PthError> {
        let Value::Tuple(items) = pid else {
            return Err(self.err("persistent id is not a tuple"));
        };
        match items.as_slice() {
            [Value::Str(tag), ty, key, _location, Value::Int(numel), rest @ ..]
                if tag == "storage" =>
            {
                if rest.iter().any(|v| *v != Value::None) {
                    return Err(self.err("storage views (legacy view_metadata) are not supported"));
                }
                let dtype = match ty {
                    Value::Global(g) => DType::from_storage_class(g)
                        .ok_or_else(|| self.err(format!("unknown storage type {g}")))?,
                    _ => return Err(self.err("storage type is not a class name")),
                };
                let key = match key {
                    Value::Str(s) => s.clone(),
                    Value::Int(i) => i.to_string(),
                    _ => return Err(self.err("storage key is not a string")),
                };
                let numel =
                    usize::try_from(*numel).map_err(|_| self.err("negative storage size"))?;
                Ok(Value::Storage { dtype, key, numel })
            }
            _ => Err(self.err("persistent id is not a ('storage', ...) record")),
        }
    }

    /// REDUCE/NEWOBJ: only allowed globals are interpreted; others are refused, never run.
    fn call(&self, func: Value, args: Value) -> Result<Value, PthError> {
        let name = match func {
            Value::Global(g) => g,
            Value::Refused(g) => return Ok(Value::Refused(g)),
            _ => return Err(self.err("REDUCE on a value that is not a global")),
        };
        if !allowed(&name) {
            return Ok(Value::Refused(name));
        }
        let args = match args {
            Value::Tuple(a) => a,
            _ => return Err(self.err(format!("arguments of {name} are not a tuple"))),
        };
        match name.as_str() {
            "collections.OrderedDict" => Ok(Value::Dict(Vec::new())),
            "torch._utils._rebuild_parameter" | "torch._utils._rebuild_parameter_with_state" => {
                args.into_iter()
                    .next()
                    .ok_or_else(|| self.err("_rebuild_parameter without data"))
            }
            "torch._utils._rebuild_tensor_v2" | "torch._utils._rebuild_tensor" => {
                self.rebuild_tensor(&args, &name)
            }
            _ => Ok(Value::Refused(name)),
        }
    }

    fn rebuild_tensor(&self, args: &[Value], name: &str) -> Result<Value, PthError> {
        let (storage, offset, size, stride) = match args {
            [s, Value::Int(o), sz, st, ..] => (s, *o, sz, st),
            _ => return Err(self.err(format!("unexpected arguments to {name}"))),
        };
        let Value::Storage { dtype, key, numel } = storage else {
            if let Value::Refused(g) = storage {
                return Ok(Value::Refused(g.clone()));
            }
            return Err(self.err(format!("{name} without a storage")));
        };
        let ints = |v: &Value| -> Result<Vec<usize>, PthError> {
            match v {
                Value::Tuple(items) | Value::List(items) => items
                    .iter()
                    .map(|i| match i {
                        Value::Int(x) if *x >= 0 => Ok(*x as usize),
                        _ => Err(self.err("tensor size/stride is not a non-negative integer")),
                    })
                    .collect(),
                _ => Err(self.err("tensor size/stride is not a tuple")),
            }
        };
        let shape = ints(size)?;
        let strides = ints(stride)?;
        if shape.len() != strides.len() {
            return Err(self.err("tensor size and stride differ in length"));
        }
        Ok(Value::Tensor(TensorView {
            dtype: *dtype,
            key: key.clone(),
            storage_numel: *numel,
            offset: usize::try_from(offset).map_err(|_| self.err("negative storage offset"))?,
            shape,
            strides,
        }))
    }
}
