//! The shim's C ABI (`shim/op_timer.cpp`).
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int};

extern "C" {
    pub fn ck_op_timer_start(with_table: c_int, err: *mut *mut c_char) -> c_int;
    pub fn ck_op_timer_stop(total_ns: *mut i64, calls: *mut u64, rows: *mut *mut c_char) -> c_int;
    pub fn ck_op_timer_free(text: *mut c_char);
}
