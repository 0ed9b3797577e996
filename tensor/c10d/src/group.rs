//! [`ProcessGroup`]: ranks that meet at a `TCPStore` and run Gloo's collectives on CPU
//! tensors, in place.

use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr::NonNull;
use std::time::Duration;

use tch::{Kind, Tensor};

use crate::ffi;
use crate::{Error, Result};

/// A group of `world_size` processes, this one rank `rank`, on Gloo (CPU tensors) or NCCL
/// (one CUDA device per rank).
///
/// Every collective blocks until all ranks have called it, or fails after the group's
/// timeout (a dead or missing peer is an error, never a hang).
///
/// # Example
/// ```no_run
/// use convkit_c10d::ProcessGroup;
/// use std::time::Duration;
/// let group = ProcessGroup::new_gloo("127.0.0.1", 29500, 0, 2, Duration::from_secs(60))?;
/// let mut grads = vec![tch::Tensor::ones([4], (tch::Kind::Float, tch::Device::Cpu))];
/// group.all_reduce_mean(&mut grads)?;
/// # Ok::<(), convkit_c10d::Error>(())
/// ```
#[derive(Debug)]
pub struct ProcessGroup {
    raw: NonNull<c_void>,
    rank: usize,
    world_size: usize,
    timeout: Duration,
    backend: Backend,
}

/// The engine of a [`ProcessGroup`]'s collectives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Gloo, on CPU tensors.
    Gloo,
    /// NCCL, on the tensors of one CUDA device per rank.
    Nccl {
        /// This rank's CUDA device.
        device: usize,
    },
}

impl Backend {
    /// The device whose tensors the collectives take.
    pub fn device(&self) -> tch::Device {
        match self {
            Backend::Gloo => tch::Device::Cpu,
            Backend::Nccl { device } => tch::Device::Cuda(*device),
        }
    }
}

/// Why this build cannot make a NCCL group (built without NCCL).
pub const NO_NCCL: &str = "this convkit was built without NCCL: it needs a CUDA libtorch (the \
    Linux torch wheel from PyPI, or LIBTORCH pointing to a CUDA build) with NCCL's and CUDA's \
    headers at build time (the nvidia-nccl, nvidia-cuda-runtime and nvidia-cuda-cccl wheels, \
    or NCCL_INCLUDE_DIR and CUDA_INCLUDE_DIRS); cargo's build warnings say which was missing";

// The shim's group is libtorch's ProcessGroupGloo, which is thread-safe (c10d's process groups
// are shared across threads in PyTorch); collectives issued from several threads at once would
// pair up differently on each rank, so convkit issues them from one thread.
#[allow(unsafe_code)]
unsafe impl Send for ProcessGroup {}
#[allow(unsafe_code)]
unsafe impl Sync for ProcessGroup {}

/// Whether Gloo's `message` says a peer is gone: a closed or reset connection, or a
/// collective that timed out.
fn is_peer_lost(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "connection closed",
        "connection reset",
        "timed out",
        "broken pipe",
        "did not complete",
    ]
    .iter()
    .any(|p| m.contains(p))
}

/// "rank 1" in a world of 2, else "one of ranks 0, 2, 3": the peers of `rank`.
fn peers_of(rank: usize, world_size: usize) -> String {
    let others: Vec<String> = (0..world_size)
        .filter(|r| *r != rank)
        .map(|r| r.to_string())
        .collect();
    match others.as_slice() {
        [one] => format!("rank {one}"),
        _ => format!("one of ranks {}", others.join(", ")),
    }
}

#[allow(unsafe_code)]
fn take_message(err: *mut c_char) -> String {
    if err.is_null() {
        return "(no message)".into();
    }
    // SAFETY: the shim sets `err` to a NUL-terminated malloc'd string, freed here once.
    unsafe {
        let message = CStr::from_ptr(err).to_string_lossy().into_owned();
        ffi::ck_free_error(err);
        message
    }
}

/// Checks that every tensor can be reduced in place by `backend`: dense, contiguous, on its
/// device.
fn check(backend: Backend, what: &str, tensors: &[Tensor]) -> Result<()> {
    for (i, t) in tensors.iter().enumerate() {
        if t.device() != backend.device() || !t.is_contiguous() {
            return Err(Error::Tensor {
                what: what.to_string(),
                index: i,
                problem: format!(
                    "{:?} on {:?}: {backend:?} takes contiguous tensors on {:?}",
                    t.size(),
                    t.device(),
                    backend.device()
                ),
            });
        }
    }
    Ok(())
}

/// The checks and strings every group constructor makes, and what it is joining.
pub(crate) struct JoinArgs<'a> {
    host: CString,
    prefix: CString,
    master_addr: &'a str,
    master_port: u16,
    rank: usize,
    world_size: usize,
    timeout: Duration,
}

impl<'a> JoinArgs<'a> {
    /// Checks a group's settings; `agent_prefix`: a launcher's store (torchrun's agent
    /// store), every rank its client, keys under the prefix.
    pub(crate) fn new(
        master_addr: &'a str,
        master_port: u16,
        rank: usize,
        world_size: usize,
        timeout: Duration,
        agent_prefix: Option<&str>,
    ) -> Result<Self> {
        if world_size == 0 || rank >= world_size {
            return Err(Error::Config(format!(
                "rank {rank} of a world of {world_size}: the rank must be below the world size"
            )));
        }
        let host = CString::new(master_addr)
            .map_err(|_| Error::Config(format!("master address {master_addr:?} holds a NUL")))?;
        let prefix = CString::new(agent_prefix.unwrap_or_default())
            .map_err(|_| Error::Config("the store prefix holds a NUL".into()))?;
        Ok(JoinArgs {
            host,
            prefix,
            master_addr,
            master_port,
            rank,
            world_size,
            timeout,
        })
    }

    /// The timeout as the shim takes it.
    fn timeout_ms(&self) -> i64 {
        self.timeout.as_millis().min(i64::MAX as u128) as i64
    }

    /// The group the shim returned, or the error it set in `err` when it returned null.
    fn joined(self, raw: *mut c_void, err: *mut c_char, backend: Backend) -> Result<ProcessGroup> {
        let name = match backend {
            Backend::Gloo => "Gloo",
            Backend::Nccl { .. } => "NCCL",
        };
        let raw = NonNull::new(raw).ok_or_else(|| Error::C10d {
            what: format!(
                "joining the {name} group at {}:{} as rank {} of {}",
                self.master_addr, self.master_port, self.rank, self.world_size
            ),
            message: take_message(err),
        })?;
        Ok(ProcessGroup {
            raw,
            rank: self.rank,
            world_size: self.world_size,
            timeout: self.timeout,
            backend,
        })
    }
}

impl ProcessGroup {
    /// Runs a shim call that reports failure through `err`, naming `what` and, when Gloo says
    /// a peer is gone, the ranks that may be.
    #[allow(unsafe_code)]
    fn call(&self, what: &str, f: impl FnOnce(*mut *mut c_char) -> i32) -> Result<()> {
        let mut err: *mut c_char = std::ptr::null_mut();
        if f(&mut err) == 0 {
            return Ok(());
        }
        let message = take_message(err);
        if is_peer_lost(&message) {
            return Err(Error::PeerLost {
                what: format!("{what} on rank {} of {}", self.rank, self.world_size),
                peers: peers_of(self.rank, self.world_size),
                timeout_s: self.timeout.as_secs_f64(),
                message,
            });
        }
        Err(Error::C10d {
            what: what.to_string(),
            message,
        })
    }

    /// The timeout of every collective.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Joins a Gloo group of `world_size` ranks as `rank`, meeting at the `TCPStore` on
    /// `master_addr:master_port`, which rank 0 serves; `timeout` bounds the rendezvous and
    /// every collective. Gloo connects the ranks through the network interface named by
    /// `GLOO_SOCKET_IFNAME` when set, the loopback when the master is on it, else the address
    /// this machine's hostname resolves to, as PyTorch does.
    pub fn new_gloo(
        master_addr: &str,
        master_port: u16,
        rank: usize,
        world_size: usize,
        timeout: Duration,
    ) -> Result<ProcessGroup> {
        Self::join_gloo(JoinArgs::new(
            master_addr,
            master_port,
            rank,
            world_size,
            timeout,
            None,
        )?)
    }

    /// [`ProcessGroup::new_gloo`] with checked settings (perhaps a launcher's store).
    #[allow(unsafe_code)]
    pub(crate) fn join_gloo(args: JoinArgs<'_>) -> Result<ProcessGroup> {
        let iface = std::env::var("GLOO_SOCKET_IFNAME").unwrap_or_default();
        let iface = CString::new(iface)
            .map_err(|_| Error::Config("GLOO_SOCKET_IFNAME holds a NUL".into()))?;
        let mut err: *mut c_char = std::ptr::null_mut();
        // SAFETY: the strings of `args` and `iface` outlive the call; the shim returns a
        // group or null with `err` set.
        let raw = unsafe {
            ffi::ck_gloo_new(
                args.host.as_ptr(),
                args.master_port,
                args.rank as i32,
                args.world_size as i32,
                args.timeout_ms(),
                iface.as_ptr(),
                args.prefix.as_ptr(),
                &mut err,
            )
        };
        args.joined(raw, err, Backend::Gloo)
    }

    /// Joins a NCCL group of `world_size` ranks as `rank`, on CUDA device `device`, meeting at
    /// the `TCPStore` on `master_addr:master_port` (as [`ProcessGroup::new_gloo`]); the
    /// collectives take that device's tensors. Needs a build against a CUDA libtorch with
    /// NCCL ([`NO_NCCL`] says what otherwise).
    pub fn new_nccl(
        master_addr: &str,
        master_port: u16,
        rank: usize,
        world_size: usize,
        device: usize,
        timeout: Duration,
    ) -> Result<ProcessGroup> {
        let args = JoinArgs::new(master_addr, master_port, rank, world_size, timeout, None)?;
        Self::join_nccl(args, device)
    }

    /// [`ProcessGroup::new_nccl`] with checked settings (perhaps a launcher's store).
    #[allow(unsafe_code)]
    pub(crate) fn join_nccl(args: JoinArgs<'_>, device: usize) -> Result<ProcessGroup> {
        #[cfg(not(convkit_nccl))]
        {
            let _ = (args, device);
            Err(Error::Config(NO_NCCL.into()))
        }
        #[cfg(convkit_nccl)]
        {
            if !tch::Cuda::is_available() || device >= tch::Cuda::device_count().max(0) as usize {
                return Err(Error::Config(format!(
                    "NCCL on CUDA device {device}: this machine has {} CUDA devices",
                    tch::Cuda::device_count()
                )));
            }
            let mut err: *mut c_char = std::ptr::null_mut();
            // SAFETY: the strings of `args` outlive the call; the shim returns a group or
            // null with `err` set.
            let raw = unsafe {
                ffi::ck_nccl_new(
                    args.host.as_ptr(),
                    args.master_port,
                    args.rank as i32,
                    args.world_size as i32,
                    args.timeout_ms(),
                    args.prefix.as_ptr(),
                    device as i32,
                    &mut err,
                )
            };
            args.joined(raw, err, Backend::Nccl { device })
        }
    }

    /// The engine of the collectives.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The device whose tensors the collectives take (the CPU for Gloo).
    pub fn device(&self) -> tch::Device {
        self.backend.device()
    }

    /// This process's rank.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// The number of ranks.
    pub fn world_size(&self) -> usize {
        self.world_size
    }

    /// Sums `tensors` across ranks, in place (one coalesced call when they share a dtype).
    #[allow(unsafe_code)]
    pub fn all_reduce_sum(&self, tensors: &mut [Tensor]) -> Result<()> {
        check(self.backend, "all_reduce", tensors)?;
        let mut ptrs: Vec<*mut torch_sys::C_tensor> =
            tensors.iter_mut().map(|t| t.as_mut_ptr()).collect();
        self.call("all_reduce", |err| {
            // SAFETY: the pointers are live tensors borrowed for the call.
            unsafe { ffi::ck_allreduce_sum(self.raw.as_ptr(), ptrs.as_mut_ptr(), ptrs.len(), err) }
        })
    }

    /// Averages `tensors` across ranks, in place (Gloo sums; the sum is divided here).
    pub fn all_reduce_mean(&self, tensors: &mut [Tensor]) -> Result<()> {
        self.all_reduce_sum(tensors)?;
        for t in tensors.iter_mut() {
            let _ = t.f_div_scalar_(self.world_size as f64)?;
        }
        Ok(())
    }

    /// Copies rank `root`'s `tensors` into every rank's, in place.
    #[allow(unsafe_code)]
    pub fn broadcast(&self, tensors: &mut [Tensor], root: usize) -> Result<()> {
        check(self.backend, "broadcast", tensors)?;
        if root >= self.world_size {
            return Err(Error::Config(format!(
                "broadcast from rank {root} in a world of {}",
                self.world_size
            )));
        }
        let mut ptrs: Vec<*mut torch_sys::C_tensor> =
            tensors.iter_mut().map(|t| t.as_mut_ptr()).collect();
        self.call("broadcast", |err| {
            // SAFETY: as in `all_reduce_sum`.
            unsafe {
                ffi::ck_broadcast(
                    self.raw.as_ptr(),
                    ptrs.as_mut_ptr(),
                    ptrs.len(),
                    root as i64,
                    err,
                )
            }
        })
    }

    /// Every rank's `tensor` (all of one shape and kind), in rank order.
    #[allow(unsafe_code)]
    pub fn all_gather(&self, tensor: &Tensor) -> Result<Vec<Tensor>> {
        let mut input = tensor.f_contiguous()?;
        check(self.backend, "all_gather", std::slice::from_ref(&input))?;
        let mut outputs: Vec<Tensor> = (0..self.world_size)
            .map(|_| input.f_empty_like())
            .collect::<std::result::Result<_, _>>()?;
        let mut ptrs: Vec<*mut torch_sys::C_tensor> =
            outputs.iter_mut().map(|t| t.as_mut_ptr()).collect();
        self.call("all_gather", |err| {
            // SAFETY: as in `all_reduce_sum`.
            unsafe {
                ffi::ck_allgather(
                    self.raw.as_ptr(),
                    input.as_mut_ptr(),
                    ptrs.as_mut_ptr(),
                    ptrs.len(),
                    err,
                )
            }
        })?;
        Ok(outputs)
    }

    /// Waits until every rank has reached the barrier.
    #[allow(unsafe_code)]
    pub fn barrier(&self) -> Result<()> {
        self.call("barrier", |err| {
            // SAFETY: the group is live.
            unsafe { ffi::ck_barrier(self.raw.as_ptr(), err) }
        })
    }

    /// A float scalar summed across ranks (epoch totals, sample counts).
    pub fn sum_scalar(&self, value: f64) -> Result<f64> {
        let t = Tensor::f_from_slice(&[value])?.f_to_kind(Kind::Double)?;
        let mut t = vec![t.f_to_device(self.device())?];
        self.all_reduce_sum(&mut t)?;
        Ok(t[0].f_double_value(&[0])?)
    }
}

impl Drop for ProcessGroup {
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        // SAFETY: the group was made by ck_gloo_new and is freed once.
        unsafe { ffi::ck_group_free(self.raw.as_ptr()) }
    }
}
