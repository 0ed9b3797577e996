//! The shim's C ABI (`shim/c10d_shim.cpp`). Tensors cross as libtorch's `at::Tensor*`, which
//! is what tch's `C_tensor` points to; a nonzero return or a null group leaves a malloc'd
//! message in `err`.

use std::ffi::{c_char, c_int, c_void};

use torch_sys::C_tensor;

extern "C" {
    pub fn ck_free_error(err: *mut c_char);
    pub fn ck_gloo_new(
        host: *const c_char,
        port: u16,
        rank: c_int,
        size: c_int,
        timeout_ms: i64,
        iface: *const c_char,
        agent_prefix: *const c_char,
        err: *mut *mut c_char,
    ) -> *mut c_void;
    pub fn ck_group_free(group: *mut c_void);
    pub fn ck_allreduce_sum(
        group: *mut c_void,
        tensors: *mut *mut C_tensor,
        n: usize,
        err: *mut *mut c_char,
    ) -> c_int;
    pub fn ck_broadcast(
        group: *mut c_void,
        tensors: *mut *mut C_tensor,
        n: usize,
        root: i64,
        err: *mut *mut c_char,
    ) -> c_int;
    pub fn ck_allgather(
        group: *mut c_void,
        input: *mut C_tensor,
        outputs: *mut *mut C_tensor,
        n: usize,
        err: *mut *mut c_char,
    ) -> c_int;
    pub fn ck_barrier(group: *mut c_void, err: *mut *mut c_char) -> c_int;
}

#[cfg(convkit_nccl)]
extern "C" {
    pub fn ck_nccl_new(
        host: *const c_char,
        port: u16,
        rank: c_int,
        size: c_int,
        timeout_ms: i64,
        agent_prefix: *const c_char,
        device: c_int,
        err: *mut *mut c_char,
    ) -> *mut c_void;
}
