//! Rendezvous as `torchrun` sets it up: `RANK`, `WORLD_SIZE`, `MASTER_ADDR`, `MASTER_PORT`
//! (and `LOCAL_RANK`, which picks a GPU), `CONVKIT_DIST_BACKEND` (`gloo` or `nccl`; default
//! NCCL when a CUDA device answers and this build has NCCL, else Gloo) and
//! `CONVKIT_DIST_TIMEOUT` (seconds).

use std::time::Duration;

use crate::group::JoinArgs;
use crate::{Error, ProcessGroup, Result};

/// The timeout of the rendezvous and of each collective unless `CONVKIT_DIST_TIMEOUT` says
/// otherwise: 5 minutes (PyTorch's Gloo default is 30; a dead peer on another machine is
/// then reported after 5). A peer whose process ends is reported at once, whatever the
/// timeout (its connections close).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5 * 60);

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn parsed<T: std::str::FromStr>(name: &str, what: &str) -> Result<Option<T>> {
    match var(name) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| Error::Config(format!("{name}={v}: not {what}"))),
    }
}

impl ProcessGroup {
    /// The process group `torchrun` set up in the environment, `None` when `WORLD_SIZE` is
    /// unset (a single process). `RANK`, `MASTER_ADDR` and `MASTER_PORT` are required with it.
    pub fn from_env() -> Result<Option<ProcessGroup>> {
        from_env()
    }
}

fn from_env() -> Result<Option<ProcessGroup>> {
    let Some(world_size) = parsed::<usize>("WORLD_SIZE", "a number of processes")? else {
        return Ok(None);
    };
    let rank = parsed::<usize>("RANK", "a rank")?
        .ok_or_else(|| Error::Config("WORLD_SIZE is set but RANK is not (use torchrun)".into()))?;
    let addr = var("MASTER_ADDR").ok_or_else(|| {
        Error::Config("WORLD_SIZE is set but MASTER_ADDR is not (use torchrun)".into())
    })?;
    let port = parsed::<u16>("MASTER_PORT", "a port")?
        .ok_or_else(|| Error::Config("WORLD_SIZE is set but MASTER_PORT is not".into()))?;
    let timeout = parsed::<f64>("CONVKIT_DIST_TIMEOUT", "a number of seconds")?
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(DEFAULT_TIMEOUT);
    let local_rank = parsed::<usize>("LOCAL_RANK", "a local rank")?.unwrap_or(0);
    let nccl = match var("CONVKIT_DIST_BACKEND").as_deref() {
        Some("gloo") => false,
        Some("nccl") => true,
        // PyTorch's choice: NCCL on CUDA devices (when this build has it), else Gloo.
        None => cfg!(convkit_nccl) && tch::Cuda::is_available(),
        Some(other) => {
            return Err(Error::Config(format!(
                "CONVKIT_DIST_BACKEND={other}: expected gloo or nccl"
            )))
        }
    };
    // torchrun's agent serves the store on MASTER_PORT itself (a new one for every restart)
    // and says so; its workers are clients (torch.distributed's env:// rendezvous), the
    // group's keys under a prefix of their own, as init_process_group's PrefixStore.
    let agent_prefix =
        (var("TORCHELASTIC_USE_AGENT_STORE").as_deref() == Some("True")).then_some("convkit_pg/");
    let args = JoinArgs::new(&addr, port, rank, world_size, timeout, agent_prefix)?;
    if nccl {
        return ProcessGroup::join_nccl(args, local_rank).map(Some);
    }
    ProcessGroup::join_gloo(args).map(Some)
}
