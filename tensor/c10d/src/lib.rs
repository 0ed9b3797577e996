//! libtorch's distributed engine, c10d, for convkit: the `TCPStore` rendezvous and Gloo's
//! collectives (all-reduce, broadcast, all-gather, barrier) on CPU tensors, as PyTorch's
//! `torch.distributed` runs them, through a small C++ shim compiled against the libtorch
//! that torch-sys links (`shim/c10d_shim.cpp`). Every libtorch exception comes back as an
//! [`Error`] with its message; every collective has a timeout.
//!
//! [`ProcessGroup::from_env`] reads `torchrun`'s variables (`RANK`, `WORLD_SIZE`,
//! `MASTER_ADDR`, `MASTER_PORT`).

#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod env;
#[allow(unsafe_code)]
mod ffi;
mod group;
mod uneven;

pub use env::DEFAULT_TIMEOUT;

/// Whether this build has NCCL's process group ([`ProcessGroup::new_nccl`]): built against a
/// CUDA libtorch with NCCL's and CUDA's headers.
pub const HAS_NCCL: bool = cfg!(convkit_nccl);
pub use group::{Backend, ProcessGroup, NO_NCCL};

/// What can go wrong in a process group.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// libtorch's c10d refused or failed (its message).
    #[error("c10d: {what}: {message}")]
    C10d {
        /// The operation.
        what: String,
        /// libtorch's message.
        message: String,
    },
    /// A collective failed because a peer is gone: its process ended (its connections
    /// closed) or it did not answer within the timeout.
    #[error(
        "c10d: {what}: lost {peers} (its process ended or it did not answer within \
         {timeout_s} s): {message}"
    )]
    PeerLost {
        /// The operation.
        what: String,
        /// The rank or ranks that may be gone ("rank 1", "one of ranks 1, 2, 3").
        peers: String,
        /// The group's timeout, in seconds.
        timeout_s: f64,
        /// libtorch's (Gloo's) message.
        message: String,
    },
    /// A tensor a collective cannot take.
    #[error("{what}: tensor {index}: {problem}")]
    Tensor {
        /// The operation.
        what: String,
        /// The tensor's position.
        index: usize,
        /// What is wrong with it.
        problem: String,
    },
    /// A bad setting (rank, world size, address, environment variable).
    #[error("distributed setup: {0}")]
    Config(String),
    /// A libtorch error of a tensor operation.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

/// This crate's result.
pub type Result<T> = std::result::Result<T, Error>;
