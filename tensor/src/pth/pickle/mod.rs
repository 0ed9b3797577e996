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
//! budget, and so are the opcodes run and the nesting depth, so no input can make the reader
//! run out of stack or memory.

mod allowed;
mod machine;
mod opcode;
mod value;

use std::collections::HashMap;

use crate::pth::error::PthError;
use machine::Machine;

pub(crate) use value::Value;

/// Deepest nesting of containers accepted.
pub(crate) const MAX_DEPTH: u32 = 128;

/// Most opcodes one pickle may run. Each opcode makes at most one value (memo copies are paid
/// for separately), so this bounds the reader's memory to a few hundred MiB whatever the input;
/// a state dict needs about 25 opcodes per tensor, so this allows some 160,000 tensors.
pub(crate) const MAX_OPCODES: u64 = 1 << 22;

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

#[cfg(test)]
mod tests {
    use super::value::long_le;
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
    fn opcode_bomb_is_refused() {
        // MAX_OPCODES + 1 empty lists, each a value of its own; the reader stops at the limit.
        let mut p = b"\x80\x02".to_vec();
        p.resize(p.len() + MAX_OPCODES as usize + 1, b']');
        p.push(b'.');
        let e = run(&p).unwrap_err().to_string();
        assert!(e.contains("more than 4194304 opcodes"), "{e}");
        // One fewer is an ordinary (if odd) pickle: a list at the top of a deep stack.
        let mut p = b"\x80\x02".to_vec();
        p.resize(p.len() + MAX_OPCODES as usize - 2, b']');
        p.push(b'.');
        assert!(run(&p).is_ok());
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
