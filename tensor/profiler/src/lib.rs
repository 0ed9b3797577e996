//! How much of a step is libtorch's own work: [`OpTimer`] times every operator libtorch runs
//! (c10/ATen operators from the dispatcher, autograd's backward nodes) through its
//! `RecordFunction` observers, the hook torch.profiler builds on, and [`OpTimes`] holds the
//! time inside the outermost operators of each thread and every operator's own time.
//!
//! The time inside operators (kernels, and the dispatch, allocations, casts and layout reorders
//! inside libtorch's operators) is what a training loop that issues the same operators cannot go
//! below on one CPU; what the wall clock shows above it is the loop's overhead (convkit's Rust
//! code, tch's FFI, the autograd engine between nodes, tensor frees). On a GPU operators return
//! before their kernels finish, so the figure means little there.
//!
//! # Example
//! ```no_run
//! use convkit_profiler::OpTimer;
//! use tch::{Kind, Tensor};
//!
//! let a = Tensor::rand([256, 256], (Kind::Float, tch::Device::Cpu));
//! let timer = OpTimer::start()?;
//! let started = std::time::Instant::now();
//! let _ = a.matmul(&a);
//! let wall = started.elapsed();
//! let times = timer.stop()?;
//! println!("{:?} of {:?} inside libtorch", times.total, wall);
//! # Ok::<(), convkit_profiler::ProfilerError>(())
//! ```
#![warn(missing_docs)]

mod ffi;
mod op_timer;

pub use op_timer::{OpTime, OpTimer, OpTimes, ProfilerError};
