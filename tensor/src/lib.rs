//! # convkit-tensor
//!
//! The bottom of convkit's stack: everything that touches libtorch directly and is shared by
//! the other crates.
//!
//! - [`Device`]: `Auto`, `Cpu` or `Cuda(n)`, parsed from `--device` / `CONVKIT_DEVICE`.
//! - [`seed`]: one seed for libtorch and every Rust random stream ([`seed::rng_for`]).
//! - [`threads`]: the number of intra-op threads libtorch uses.
//! - [`Error`]: the crate's error type; every fallible call returns [`Result`].
//! - [`image_convert`]: `image` buffers (u8, HWC) to float NCHW tensors and back.
//! - [`Batch`] and [`BatchSource`]: what data loaders yield and training loops consume.
#![warn(missing_docs)]
// Library code returns errors: no unwrap, expect or panic outside tests (each allow says why).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod allocator;
pub mod atomic;
pub mod batch;
pub mod device;
pub mod dir_lock;
pub mod error;
pub mod files;
pub mod fingerprint;
pub mod image_convert;
pub mod memory;
pub mod memory_format;
pub mod pth;
pub mod safetensors_header;
pub mod seed;
pub mod shard;
pub mod threads;

pub use batch::{Batch, BatchSource, MapBatches, TensorBatches};
/// libtorch's distributed engine (c10d: `TCPStore`, Gloo's collectives) as a
/// [`ProcessGroup`](distributed::ProcessGroup), `torchrun`'s environment read by
/// [`ProcessGroup::from_env`](distributed::ProcessGroup::from_env).
pub use convkit_c10d as distributed;
pub use device::Device;
pub use error::{Error, Result};
pub use shard::Shard;
pub use tch;
pub use tch::{Kind, Tensor};
