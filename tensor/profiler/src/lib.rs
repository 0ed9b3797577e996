//! How much of a step is libtorch's own work: [`OpTimer`] times every operator libtorch runs
//! (c10/ATen operators from the dispatcher, autograd's backward nodes) through its
//! `RecordFunction` observers, the hook torch.profiler builds on, and [`OpTimes`] holds the
//! time inside the outermost operators of each thread and every operator's own time.
//!
//! The time inside operators is the kernel time a training loop cannot go below on one device;
//! what the wall clock shows above it is the loop's overhead (convkit's Rust code, tch's FFI,
//! the autograd engine between nodes).
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
