//! What every subcommand sets up: logging, threads, seed, device, data directory.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
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
}

impl RuntimeArgs {
    /// Applies threads and seed, resolves the device.
    pub fn setup(&self) -> anyhow::Result<convkit_tensor::tch::Device> {
        // What finds fetched files (`pretrained::weights_path`) reads the data folder from
        // the environment: make it the one given here.
        std::env::set_var("CONVKIT_DATA", &self.data_dir);
        threads::set_num_threads(self.threads);
        seed::set_seed(self.seed);
        let device: Device = self.device.parse()?;
        let resolved = device.resolve()?;
        tracing::info!(device = ?resolved, threads = threads::num_threads(), seed = self.seed, "runtime ready");
        Ok(resolved)
    }
}

/// Logs to stderr; `RUST_LOG` filters (default: info for convkit, warnings otherwise).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(
            "warn,convkit=info,convkit_layers=info,convkit_data=info",
        )
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
