//! What every subcommand sets up: logging, threads, seed, device, data directory.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use convkit_layers::mixed_precision::{self, DTypePolicy};
use convkit_tensor::memory_format::{self, ChannelsLast};
use convkit_tensor::{seed, threads, Device};

/// Options shared by training subcommands.
#[derive(Args, Debug, Clone)]
pub struct RuntimeArgs {
    /// Device: auto, cpu, cuda, cuda:N.
    #[arg(long, env = "CONVKIT_DEVICE", default_value = "auto")]
    pub device: String,
    /// Seed for initialization, shuffling, dropout and augmentation.
    #[arg(long, env = "CONVKIT_SEED", default_value_t = seed::DEFAULT_SEED)]
    pub seed: u64,
    /// libtorch threads (0: one per core; at most 1,024).
    #[arg(long, env = "CONVKIT_THREADS", default_value_t = 0, value_parser = crate::ranges::torch_threads())]
    pub threads: usize,
    /// Directory holding datasets (MNIST in DATA_DIR/mnist).
    #[arg(long, env = "CONVKIT_DATA", default_value = "datasets")]
    pub data_dir: PathBuf,
    /// Convolutions in channels-last memory (NHWC; shapes and saved weights unchanged):
    /// auto (where measured faster: CPU and CUDA), on, off.
    #[arg(long, env = "CONVKIT_CHANNELS_LAST", default_value = "auto")]
    pub channels_last: String,
    /// Keras' dtype policy of the layers made: float32, mixed_bfloat16 (CPUs with AMX or
    /// AVX-512 BF16, recent GPUs) or mixed_float16 (GPUs; with loss scaling). A saved model
    /// keeps the policy it was trained with.
    #[arg(long, env = "CONVKIT_PRECISION", default_value = "float32")]
    pub precision: String,
}

impl RuntimeArgs {
    /// Applies threads and seed, resolves the device.
    pub fn setup(&self) -> anyhow::Result<convkit_tensor::tch::Device> {
        // What finds fetched files (`pretrained::weights_path`) reads the data folder from
        // the environment: make it the one given here.
        std::env::set_var("CONVKIT_DATA", &self.data_dir);
        threads::set_num_threads(match self.threads {
            0 => threads_per_local_rank(),
            n => n,
        });
        seed::set_seed(self.seed);
        let layout: ChannelsLast = self
            .channels_last
            .parse()
            .with_context(|| "--channels-last".to_string())?;
        memory_format::set_channels_last(layout);
        let policy: DTypePolicy = self
            .precision
            .parse()
            .with_context(|| "--precision".to_string())?;
        mixed_precision::set_global_policy(policy);
        let device: Device = self.device.parse()?;
        let resolved = match (device, local_rank()) {
            // Each local rank of a data-parallel run on its own GPU, as DDP.
            (Device::Auto, Some(r)) if convkit_tensor::tch::Cuda::is_available() => {
                Device::Cuda(r).resolve()?
            }
            _ => device.resolve()?,
        };
        tracing::info!(device = ?resolved, threads = threads::num_threads(), seed = self.seed,
            channels_last = memory_format::uses_channels_last(resolved), precision = %policy,
            "runtime ready");
        Ok(resolved)
    }
}

/// `LOCAL_RANK` when a launcher (torchrun) started several processes on this machine.
fn local_rank() -> Option<usize> {
    let local_world: usize = std::env::var("LOCAL_WORLD_SIZE").ok()?.parse().ok()?;
    let rank = std::env::var("LOCAL_RANK").ok()?.parse().ok()?;
    (local_world > 1).then_some(rank)
}

/// libtorch threads when `--threads` is 0: one per core, shared among the ranks a launcher
/// started on this machine (`LOCAL_WORLD_SIZE`), so 2 ranks on 2 cores run 1 thread each;
/// 0 (libtorch's default) for a single process.
fn threads_per_local_rank() -> usize {
    let local_world: usize = std::env::var("LOCAL_WORLD_SIZE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    if local_world <= 1 {
        return 0;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores / local_world).max(1)
}

/// Whether this process is a data-parallel rank other than 0 (`RANK` set by the launcher).
fn is_other_rank() -> bool {
    std::env::var("RANK").is_ok_and(|r| r.trim() != "0" && !r.trim().is_empty())
}

/// Logs to stderr; `RUST_LOG` filters (default: info for convkit, warnings otherwise; only
/// warnings on data-parallel ranks other than 0, so rank 0's lines are the run's).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(if is_other_rank() {
            "warn"
        } else {
            "warn,convkit=info,convkit_layers=info,convkit_data=info"
        })
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Plain lines, without colour codes, when stderr is a file or a pipe.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

/// Takes the output folder `--out` for this run before any work: creates it, proves it can be
/// written, and locks it, so that a read-only or invalid `--out` is reported at once and a
/// second run on the same folder refuses (naming the first one's PID) instead of mixing its
/// files in. Hold the returned lock until the command ends.
pub fn claim_out_dir(out: &std::path::Path) -> anyhow::Result<convkit_tensor::dir_lock::DirLock> {
    convkit_tensor::dir_lock::DirLock::acquire(out)
        .map_err(anyhow::Error::new)
        .with_context(|| format!("--out {}", out.display()))
}

/// Writes JSON to a file atomically.
pub fn write_json(path: &std::path::Path, value: &serde_json::Value) -> anyhow::Result<()> {
    let bytes = serde_json::to_vec_pretty(value)?;
    convkit_tensor::atomic::write_bytes_atomic(path, &bytes)
        .with_context(|| format!("writing {}", path.display()))
}
