//! [`Ranks`]: a command run data-parallel under `torchrun` (or any launcher that sets
//! `WORLD_SIZE`, `RANK`, `MASTER_ADDR`, `MASTER_PORT`), or as one process.
//!
//! Every rank runs the same command: it joins the process group first (so a rank that fails
//! later is reported by the others as a lost peer, not waited for), trains on its share of the
//! data with gradients averaged across ranks, and evaluates its share with the sums added
//! across ranks. Rank 0 alone owns `--out`: it locks it, prints, draws and saves; the other
//! ranks write nothing.

use std::sync::{Arc, OnceLock};

use convkit_layers::training::FitOptions;
use convkit_tensor::dir_lock::DirLock;
use convkit_tensor::distributed::ProcessGroup;

use crate::runtime::claim_out_dir;

/// This process's place in a data-parallel run.
#[derive(Clone, Default)]
pub struct Ranks {
    group: Option<Arc<ProcessGroup>>,
}

impl Ranks {
    /// Joins the process group `torchrun` describes in the environment, or one process when
    /// `WORLD_SIZE` is unset or 1; joined once per process, later calls return the same.
    pub fn from_env() -> anyhow::Result<Ranks> {
        static JOINED: OnceLock<Ranks> = OnceLock::new();
        if let Some(r) = JOINED.get() {
            return Ok(r.clone());
        }
        let ranks = Self::join()?;
        Ok(JOINED.get_or_init(|| ranks).clone())
    }

    fn join() -> anyhow::Result<Ranks> {
        let group = ProcessGroup::from_env()?.filter(|g| g.world_size() > 1);
        if let Some(g) = &group {
            tracing::info!(
                rank = g.rank(),
                world_size = g.world_size(),
                "joined the process group"
            );
        }
        Ok(Ranks {
            group: group.map(Arc::new),
        })
    }

    /// Refuses to run `command` on several ranks: the presets that build their datasets in
    /// `--out` run as one process (under torchrun, `convkit train` and `convkit mnist` train
    /// data-parallel).
    pub fn single_process_only(command: &str) -> anyhow::Result<()> {
        let world = Self::from_env()?.world_size();
        anyhow::ensure!(
            world == 1,
            "convkit {command} runs as one process (it prepares its data in --out), not on \
             {world} ranks: under torchrun use `convkit train` on the prepared folders, or \
             `convkit mnist`"
        );
        Ok(())
    }

    /// Whether this process prints, draws and writes files (rank 0, or the only process).
    pub fn is_main(&self) -> bool {
        self.group.as_ref().is_none_or(|g| g.rank() == 0)
    }

    /// The number of processes.
    pub fn world_size(&self) -> usize {
        self.group.as_ref().map_or(1, |g| g.world_size())
    }

    /// The process group, when there is more than one process.
    pub fn group(&self) -> Option<&ProcessGroup> {
        self.group.as_deref()
    }

    /// Waits until every rank has come here (nothing for one process).
    pub fn barrier(&self) -> anyhow::Result<()> {
        if let Some(g) = &self.group {
            g.barrier()?;
        }
        Ok(())
    }

    /// Runs `main` on rank 0, then `others` on the other ranks once rank 0 is done (they
    /// wait at a barrier): rank 0 prepares something in `--out` (a dataset split) while the
    /// others only work out where it is.
    pub fn main_first<T>(
        &self,
        main: impl FnOnce() -> anyhow::Result<T>,
        others: impl FnOnce() -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        if self.is_main() {
            let value = main()?;
            self.barrier()?;
            Ok(value)
        } else {
            self.barrier()?;
            others()
        }
    }

    /// `options`, data-parallel over the group when there is one.
    pub fn fit_options(&self, options: FitOptions) -> FitOptions {
        match &self.group {
            Some(g) => options.distributed(g.clone()),
            None => options,
        }
    }

    /// Locks `--out` on rank 0 ([`claim_out_dir`]); the other ranks write nothing there.
    pub fn claim_out_dir(&self, out: &std::path::Path) -> anyhow::Result<Option<DirLock>> {
        if self.is_main() {
            claim_out_dir(out).map(Some)
        } else {
            Ok(None)
        }
    }

    /// "Global batch 128 (64 per rank on 2 ranks)", or `None` for one process.
    pub fn global_batch(&self, per_rank: usize) -> Option<String> {
        let n = self.world_size();
        (n > 1).then(|| {
            format!(
                "Global batch {} ({per_rank} per rank on {n} ranks)",
                per_rank * n
            )
        })
    }
}
