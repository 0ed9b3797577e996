//! [`OpTimer`]: one process-wide timer of libtorch's operators.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, CStr};
use std::time::Duration;

use crate::ffi;

/// Why the operator timer could not start or stop.
#[derive(Debug, thiserror::Error)]
pub enum ProfilerError {
    /// One timer per process: libtorch's observers are global.
    #[error("an operator timer already runs in this process (stop it first)")]
    AlreadyRunning,
    /// libtorch refused the observer.
    #[error("libtorch refused the operator observer: {0}")]
    Libtorch(String),
    /// The shim's table did not parse (a shim defect).
    #[error("operator table line {line:?} is not `name<TAB>self_ns<TAB>calls`")]
    Table {
        /// The line at fault.
        line: String,
    },
}

/// One operator's share: its own time (its duration less the operators it called) and how
/// many times it ran.
#[derive(Debug, Clone, PartialEq)]
pub struct OpTime {
    /// libtorch's name for it (`aten::convolution`, `autograd::engine::evaluate_function: ...`).
    pub name: String,
    /// Time in it, its children excluded.
    pub self_time: Duration,
    /// Calls.
    pub calls: u64,
}

/// What [`OpTimer::stop`] measured.
#[derive(Debug, Clone, PartialEq)]
pub struct OpTimes {
    /// Time inside operators that were outermost on their thread (nested calls counted once).
    pub total: Duration,
    /// Outermost operator calls.
    pub calls: u64,
    /// Every operator, largest own time first (empty unless started with
    /// [`OpTimer::start_with_table`]).
    pub ops: Vec<OpTime>,
}

impl OpTimes {
    /// Sum of the operators' own times: equals [`OpTimes::total`] up to calls in flight when the
    /// timer started or stopped (with a table).
    pub fn self_total(&self) -> Duration {
        self.ops.iter().map(|o| o.self_time).sum()
    }
}

/// Times libtorch's operators from [`OpTimer::start`] to [`OpTimer::stop`] on every thread.
/// Dropping it unstopped removes the observer and discards the figures.
#[derive(Debug)]
pub struct OpTimer {
    stopped: bool,
}

impl OpTimer {
    /// Registers the observer, which keeps the outermost operators' total and count only
    /// (two clock reads per operator: the figure to hold against the wall clock); an error
    /// when another timer runs.
    pub fn start() -> Result<OpTimer, ProfilerError> {
        Self::start_impl(false)
    }

    /// Like [`OpTimer::start`], and also keeps every operator's own time in
    /// [`OpTimes::ops`] (a table update per operator: the totals then run a little slower).
    pub fn start_with_table() -> Result<OpTimer, ProfilerError> {
        Self::start_impl(true)
    }

    fn start_impl(with_table: bool) -> Result<OpTimer, ProfilerError> {
        let mut err: *mut c_char = std::ptr::null_mut();
        // SAFETY: `err` is a valid out-pointer; the shim sets it only on code 2.
        match unsafe { ffi::ck_op_timer_start(c_int::from(with_table), &mut err) } {
            0 => Ok(OpTimer { stopped: false }),
            1 => Err(ProfilerError::AlreadyRunning),
            _ => Err(ProfilerError::Libtorch(take_text(err))),
        }
    }

    /// Removes the observer and returns what it measured.
    pub fn stop(mut self) -> Result<OpTimes, ProfilerError> {
        self.stopped = true;
        let (total_ns, calls, text) = stop_shim()?;
        let mut ops = Vec::new();
        for line in text.lines() {
            ops.push(parse_row(line)?);
        }
        ops.sort_by(|a, b| b.self_time.cmp(&a.self_time).then(a.name.cmp(&b.name)));
        Ok(OpTimes {
            total: Duration::from_nanos(total_ns.max(0) as u64),
            calls,
            ops,
        })
    }
}

impl Drop for OpTimer {
    fn drop(&mut self) {
        if !self.stopped {
            // Nothing to report from a drop; the observer is removed either way.
            let _ = stop_shim();
        }
    }
}

/// Stops the shim's timer: (outermost ns, outermost calls, table text).
fn stop_shim() -> Result<(i64, u64, String), ProfilerError> {
    let (mut total_ns, mut calls) = (0i64, 0u64);
    let mut rows: *mut c_char = std::ptr::null_mut();
    // SAFETY: valid out-pointers; the shim allocates `rows` only when it returns 0.
    let code = unsafe { ffi::ck_op_timer_stop(&mut total_ns, &mut calls, &mut rows) };
    match code {
        0 => Ok((total_ns, calls, take_text(rows))),
        // The timer ran (an `OpTimer` exists only after a successful start).
        1 => Ok((total_ns, calls, String::new())),
        _ => Err(ProfilerError::Libtorch(
            "removing the operator observer or writing its table failed".into(),
        )),
    }
}

/// Copies and frees a malloc'd C string from the shim (empty for null).
fn take_text(p: *mut c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: the shim hands out NUL-terminated malloc'd strings, freed here exactly once.
    let s = unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
    // SAFETY: as above.
    unsafe { ffi::ck_op_timer_free(p) };
    s
}

fn parse_row(line: &str) -> Result<OpTime, ProfilerError> {
    let bad = || ProfilerError::Table {
        line: line.to_string(),
    };
    // Names may hold tabs in principle; the two figures are the last fields.
    let mut fields = line.rsplitn(3, '\t');
    let calls = fields.next().and_then(|c| c.parse().ok()).ok_or_else(bad)?;
    let self_ns: i64 = fields.next().and_then(|c| c.parse().ok()).ok_or_else(bad)?;
    let name = fields.next().ok_or_else(bad)?.to_string();
    Ok(OpTime {
        name,
        self_time: Duration::from_nanos(self_ns.max(0) as u64),
        calls,
    })
}
