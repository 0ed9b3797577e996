//! The pickle machine: its stack, marks and memo, its reading of the byte stream, and the
//! dispatch of each opcode to the method of its family. The budgets (nesting depth, memo
//! copies) are checked here; the allowed calls are in `allowed.rs`.

use std::collections::HashMap;

use super::opcode::{opcode_name, Opcode};
use super::value::{grow, long_le, Item, Value};
use super::{MAX_DEPTH, MAX_OPCODES};
use crate::pth::error::PthError;

/// A truncated read inside the pickle.
struct Short {
    needed: u64,
    available: u64,
}

pub(super) struct Machine<'a> {
    pub(super) data: &'a [u8],
    pub(super) pos: usize,
    pub(super) origin: &'a str,
    pub(super) pickle: &'a str,
    pub(super) stack: Vec<Item>,
    pub(super) marks: Vec<usize>,
    pub(super) memo: HashMap<u32, Item>,
    pub(super) copy_budget: u64,
    /// First global seen outside the allowlist.
    pub(super) refused: Option<String>,
    /// Last string pushed in dict-key position near the top level (for messages).
    pub(super) last_key: Option<String>,
    /// The one before.
    pub(super) prev_key: Option<String>,
}

impl<'a> Machine<'a> {
    /// Runs to `STOP` and returns the pickled value.
    pub(super) fn run(&mut self) -> Result<Value, PthError> {
        let mut executed: u64 = 0;
        loop {
            let at = self.pos;
            executed += 1;
            if executed > MAX_OPCODES {
                return Err(self.malformed(format!(
                    "more than {MAX_OPCODES} opcodes, the most a state dict's pickle is read for \
                     (a pickle bomb?)"
                )));
            }
            let byte = self.read_u8(at)?;
            let Some(op) = Opcode::from_byte(byte) else {
                return Err(self.unsupported(byte, at));
            };
            match op {
                Opcode::Stop => return Ok(self.pop(at)?.v),
                Opcode::Proto | Opcode::Frame => self.framing(op, at)?,
                Opcode::Mark
                | Opcode::EmptyDict
                | Opcode::EmptyList
                | Opcode::EmptyTuple
                | Opcode::Tuple
                | Opcode::Tuple1
                | Opcode::Tuple2
                | Opcode::Tuple3 => self.structure(op, at)?,
                Opcode::Binunicode
                | Opcode::ShortBinunicode
                | Opcode::Binunicode8
                | Opcode::Binstring
                | Opcode::ShortBinstring
                | Opcode::Binbytes
                | Opcode::ShortBinbytes => self.string(op, at)?,
                Opcode::Binint
                | Opcode::Binint1
                | Opcode::Binint2
                | Opcode::Long1
                | Opcode::Newtrue
                | Opcode::Newfalse
                | Opcode::None
                | Opcode::Binfloat => self.scalar(op, at)?,
                Opcode::Binput | Opcode::LongBinput | Opcode::Memoize => self.memo_put(op, at)?,
                Opcode::Binget | Opcode::LongBinget => self.memo_get(op, at)?,
                Opcode::Global | Opcode::StackGlobal => self.global_op(op, at)?,
                Opcode::Reduce | Opcode::Newobj => {
                    let args = self.pop(at)?;
                    let callable = self.pop(at)?;
                    let item = self.call(callable, args)?;
                    self.push(item);
                }
                Opcode::Build => self.build(at)?,
                Opcode::Setitem | Opcode::Setitems => self.setitems(op, at)?,
                Opcode::Append | Opcode::Appends => self.appends(op, at)?,
                Opcode::Binpersid => {
                    let pid = self.pop(at)?;
                    let v = self.persistent_load(pid.v)?;
                    self.push(Item::leaf(v));
                }
                _ => return Err(self.unsupported(byte, at)),
            }
        }
    }

    // ---- opcode families ----

    /// `PROTO` (checked) and `FRAME` (the frame length is only a hint for buffering).
    fn framing(&mut self, op: Opcode, at: usize) -> Result<(), PthError> {
        if op == Opcode::Frame {
            self.take(8, at)?;
            return Ok(());
        }
        let v = self.read_u8(at)?;
        if v > 5 {
            return Err(self.malformed(format!("unknown pickle protocol {v}")));
        }
        Ok(())
    }

    /// `MARK`, the empty containers and the tuples.
    fn structure(&mut self, op: Opcode, at: usize) -> Result<(), PthError> {
        let item = match op {
            Opcode::Mark => {
                self.marks.push(self.stack.len());
                return Ok(());
            }
            Opcode::EmptyDict => Item::leaf(Value::Dict(Vec::new())),
            Opcode::EmptyList => Item::leaf(Value::List(Vec::new())),
            Opcode::EmptyTuple => Item::leaf(Value::Tuple(Vec::new())),
            Opcode::Tuple => {
                let items = self.pop_mark(at)?;
                self.container(items, Value::Tuple)?
            }
            _ => {
                let n = match op {
                    Opcode::Tuple1 => 1,
                    Opcode::Tuple2 => 2,
                    _ => 3,
                };
                let split = self
                    .stack
                    .len()
                    .checked_sub(n)
                    .ok_or_else(|| self.underflow(at))?;
                let items = self.stack.split_off(split);
                self.container(items, Value::Tuple)?
            }
        };
        self.push(item);
        Ok(())
    }

    /// Unicode strings, Python 2 strings (UTF-8 when they can be) and bytes.
    fn string(&mut self, op: Opcode, at: usize) -> Result<(), PthError> {
        let len = match op {
            Opcode::Binunicode | Opcode::Binbytes => u64::from(self.read_u32(at)?),
            Opcode::Binunicode8 => self.read_u64(at)?,
            Opcode::Binstring => {
                let raw = self.read_u32(at)?;
                if raw > i32::MAX as u32 {
                    return Err(self.malformed("negative BINSTRING length"));
                }
                u64::from(raw)
            }
            _ => u64::from(self.read_u8(at)?),
        };
        let bytes = self.take(len, at)?;
        match op {
            Opcode::Binunicode | Opcode::ShortBinunicode | Opcode::Binunicode8 => {
                let s = std::str::from_utf8(bytes)
                    .map_err(|_| self.malformed(format!("invalid UTF-8 string at {at}")))?
                    .to_owned();
                self.push_str(s);
            }
            Opcode::Binstring | Opcode::ShortBinstring => match String::from_utf8(bytes.to_vec()) {
                Ok(s) => self.push_str(s),
                Err(e) => self.push(Item::leaf(Value::Bytes(e.into_bytes()))),
            },
            _ => self.push(Item::leaf(Value::Bytes(bytes.to_vec()))),
        }
        Ok(())
    }

    /// Integers, booleans, `None` and floats.
    fn scalar(&mut self, op: Opcode, at: usize) -> Result<(), PthError> {
        let v = match op {
            Opcode::Binint => Value::Int(i128::from(i32::from_le_bytes(self.array(at)?))),
            Opcode::Binint1 => Value::Int(i128::from(self.read_u8(at)?)),
            Opcode::Binint2 => Value::Int(i128::from(u16::from_le_bytes(self.array(at)?))),
            Opcode::Long1 => {
                let n = self.read_u8(at)?;
                let bytes = self.take(u64::from(n), at)?;
                let v = long_le(bytes).ok_or_else(|| {
                    self.malformed(format!("integer of {n} bytes at {at} is too large"))
                })?;
                Value::Int(v)
            }
            Opcode::Newtrue => Value::Bool(true),
            Opcode::Newfalse => Value::Bool(false),
            // BINFLOAT is big-endian.
            Opcode::Binfloat => Value::Float(f64::from_be_bytes(self.array(at)?)),
            _ => Value::None,
        };
        self.push(Item::leaf(v));
        Ok(())
    }

    /// `BINPUT`, `LONG_BINPUT`, `MEMOIZE`: a copy of the top of the stack into the memo,
    /// paid for from the copy budget.
    fn memo_put(&mut self, op: Opcode, at: usize) -> Result<(), PthError> {
        let idx = match op {
            Opcode::Binput => u32::from(self.read_u8(at)?),
            Opcode::LongBinput => self.read_u32(at)?,
            _ => u32::try_from(self.memo.len()).map_err(|_| self.malformed("memo too large"))?,
        };
        let top = self.stack.last().ok_or_else(|| self.underflow(at))?;
        let item = top.clone();
        self.spend(item.weight)?;
        self.memo.insert(idx, item);
        Ok(())
    }

    /// `BINGET`, `LONG_BINGET`: a copy of a memo entry onto the stack, paid for from the
    /// copy budget.
    fn memo_get(&mut self, op: Opcode, at: usize) -> Result<(), PthError> {
        let idx = if op == Opcode::Binget {
            u32::from(self.read_u8(at)?)
        } else {
            self.read_u32(at)?
        };
        let item = self
            .memo
            .get(&idx)
            .ok_or_else(|| {
                self.malformed(format!("memo entry {idx} read at {at} was never stored"))
            })?
            .clone();
        self.spend(item.weight)?;
        if let Value::Str(s) = &item.v {
            self.note_key(s.clone());
        }
        self.push(item);
        Ok(())
    }

    /// `GLOBAL` (names on the line) and `STACK_GLOBAL` (names on the stack).
    fn global_op(&mut self, op: Opcode, at: usize) -> Result<(), PthError> {
        let v = if op == Opcode::Global {
            let module = self.read_line(at)?;
            let name = self.read_line(at)?;
            self.global(&module, &name)
        } else {
            let name = self.pop(at)?.v;
            let module = self.pop(at)?.v;
            // The name string was not a dict key after all.
            if name.as_str().is_some() && name.as_str() == self.last_key.as_deref() {
                self.last_key = self.prev_key.take();
            }
            let (Some(module), Some(name)) = (module.as_str(), name.as_str()) else {
                return Err(self.malformed("STACK_GLOBAL with non-string operands"));
            };
            self.global(module, name)
        };
        self.push(Item::leaf(v));
        Ok(())
    }

    /// `BUILD`: only OrderedDict attributes (`_metadata`), tensors and inert objects get
    /// state, and it is dropped (a refused global inside it has already been recorded).
    fn build(&mut self, at: usize) -> Result<(), PthError> {
        let _state = self.pop(at)?;
        let top = self.stack.last().ok_or_else(|| self.underflow(at))?;
        if !matches!(
            top.v,
            Value::Dict(_) | Value::Tensor(_) | Value::Object { .. }
        ) {
            let t = top.v.type_name();
            return Err(self.malformed(format!("BUILD on {t} at {at}")));
        }
        Ok(())
    }

    /// `SETITEM`, `SETITEMS`: key-value pairs into the dict below them.
    fn setitems(&mut self, op: Opcode, at: usize) -> Result<(), PthError> {
        let items = if op == Opcode::Setitem {
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
            return Err(self.malformed(format!("odd number of items for SETITEMS at {at}")));
        }
        self.extend_top(items, at, "SETITEM", |container, items| {
            let Value::Dict(pairs) = container else {
                return false;
            };
            let mut it = items.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                pairs.push((k, v));
            }
            true
        })
    }

    /// `APPEND`, `APPENDS`: items onto the list below them.
    fn appends(&mut self, op: Opcode, at: usize) -> Result<(), PthError> {
        let items = if op == Opcode::Append {
            vec![self.pop(at)?]
        } else {
            self.pop_mark(at)?
        };
        self.extend_top(items, at, "APPEND", |container, items| {
            let Value::List(list) = container else {
                return false;
            };
            list.extend(items);
            true
        })
    }

    /// Adds `items` to the container below them with `extend` (false when it is not the
    /// right kind of container), growing its depth and weight within the limits.
    fn extend_top(
        &mut self,
        items: Vec<Item>,
        at: usize,
        opcode: &str,
        extend: impl FnOnce(&mut Value, Vec<Value>) -> bool,
    ) -> Result<(), PthError> {
        let (depth, weight) = grow(&items);
        let mut top = self.pop(at)?;
        if !extend(&mut top.v, items.into_iter().map(|i| i.v).collect()) {
            let t = top.v.type_name();
            return Err(self.malformed(format!("{opcode} on {t} at {at}")));
        }
        top.depth = top.depth.max(depth);
        top.weight = top.weight.saturating_add(weight);
        if top.depth > MAX_DEPTH {
            return Err(self.too_deep());
        }
        self.push(top);
        Ok(())
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

    // ---- errors ----

    pub(super) fn malformed(&self, detail: impl Into<String>) -> PthError {
        PthError::Malformed {
            origin: self.origin.to_owned(),
            key: self.last_key.clone(),
            detail: format!("{}: {}", self.pickle, detail.into()),
        }
    }

    pub(super) fn underflow(&self, at: usize) -> PthError {
        self.malformed(format!("stack underflow at byte {at}"))
    }

    fn unsupported(&self, opcode: u8, at: usize) -> PthError {
        PthError::UnsupportedOpcode {
            origin: self.origin.to_owned(),
            pickle: self.pickle.to_owned(),
            opcode,
            name: opcode_name(opcode),
            offset: at as u64,
        }
    }

    pub(super) fn too_deep(&self) -> PthError {
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
