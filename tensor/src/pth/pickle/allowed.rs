//! The allowed globals and what calling them means: `OrderedDict`, the tensor and parameter
//! rebuild functions, and the typed storage classes loaded through persistent ids. Nothing
//! is ever executed: each call is interpreted here.

use super::machine::Machine;
use super::value::{grow, Item, Value};
use super::MAX_DEPTH;
use crate::pth::error::PthError;
use crate::pth::tensor::{DType, StorageRef, TensorRef};

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
    pub(crate) fn lookup(module: &str, name: &str) -> Option<Known> {
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

    pub(crate) fn name(self) -> String {
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

impl Machine<'_> {
    pub(super) fn global(&mut self, module: &str, name: &str) -> Value {
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

    pub(super) fn call(&mut self, callable: Item, args: Item) -> Result<Item, PthError> {
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
    pub(super) fn persistent_load(&self, pid: Value) -> Result<Value, PthError> {
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
}
