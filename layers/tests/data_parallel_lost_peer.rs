//! A data-parallel rank that dies mid-epoch (issue 16, item 3): the other rank exits with an
//! error naming the lost rank, well within the group's timeout, and starting both ranks again
//! resumes from rank 0's backup (`BackupAndRestore` sends it to rank 1, whose own backup
//! folder stays empty), ending with the weights of a run that was never interrupted (one
//! process at the global batch). The test binary starts itself as the ranks; rank 1 aborts
//! (no unwinding, no cleanup: its sockets close as when it is killed) in epoch 1.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use convkit_layers::prelude::*;
use convkit_layers::training::TrainingState;
use convkit_tensor::distributed::ProcessGroup;
use convkit_tensor::tch::{Device, Kind, Tensor};

/// The group's timeout: the survivor must report the lost peer before it.
const TIMEOUT: Duration = Duration::from_secs(60);

fn model() -> Sequential {
    convkit_tensor::seed::set_seed(21);
    let mut m = Sequential::new();
    m.add(Dense::new(8).activation(Activation::Relu).input_shape([5]))
        .unwrap();
    m.add(Dense::new(3).activation(Activation::Softmax))
        .unwrap();
    m.compile(
        Adam::new().learning_rate(0.01),
        Loss::SparseCategoricalCrossentropy { from_logits: false },
        &[Metric::Accuracy],
    )
    .unwrap();
    m
}

fn data() -> (Tensor, Tensor) {
    convkit_tensor::tch::manual_seed(4);
    let x = Tensor::randn([48, 5], (Kind::Float, Device::Cpu));
    let y = Tensor::randint(3, [48], (Kind::Int64, Device::Cpu));
    (x, y)
}

fn options(batch: usize) -> FitOptions {
    FitOptions::new()
        .epochs(3)
        .batch_size(batch)
        .verbose(Verbosity::Silent)
}

/// Aborts the process at batch 2 of epoch 1, as a kill would end it.
struct DieInEpoch1;

impl Callback for DieInEpoch1 {
    fn wants_batch_logs(&self) -> bool {
        true
    }
    fn on_train_batch_end(
        &mut self,
        batch: usize,
        _logs: &Logs,
        _model: &mut dyn Model,
        state: &mut TrainingState,
    ) -> convkit_layers::Result<()> {
        if state.epoch == 1 && batch == 2 {
            std::process::abort();
        }
        Ok(())
    }
}

/// Writes the first epoch this `fit` runs (after a restored backup) into `path`.
struct FirstEpoch(PathBuf);

impl Callback for FirstEpoch {
    fn on_train_begin(
        &mut self,
        _model: &mut dyn Model,
        state: &mut TrainingState,
    ) -> convkit_layers::Result<()> {
        std::fs::write(&self.0, state.epoch.to_string()).unwrap();
        Ok(())
    }
}

fn backup_dir(dir: &Path, rank: usize) -> PathBuf {
    dir.join(format!("backup-rank{rank}"))
}

/// One rank's training (run only when started by the test below).
#[test]
fn rank() {
    let Ok(rank) = std::env::var("DP_RANK") else {
        return;
    };
    let rank: usize = rank.parse().unwrap();
    let port: u16 = std::env::var("DP_PORT").unwrap().parse().unwrap();
    let dir = PathBuf::from(std::env::var("DP_DIR").unwrap());
    let group = ProcessGroup::new_gloo("127.0.0.1", port, rank, 2, TIMEOUT).unwrap();
    let mut m = model();
    let (x, y) = data();
    let backup = BackupAndRestore::new(backup_dir(&dir, rank)).keep_on_success(true);
    let first = FirstEpoch(dir.join(format!("rank{rank}.first-epoch")));
    let mut opts = options(4)
        .callback(backup)
        .callback(first)
        .distributed(Arc::new(group));
    if rank == 1 && std::env::var_os("DP_DIE").is_some() {
        opts = opts.callback(DieInEpoch1);
    }
    match m.fit(&x, &y, opts) {
        Ok(_) => save_weights(&m, &dir.join(format!("rank{rank}.safetensors"))).unwrap(),
        Err(e) => {
            eprintln!("FIT FAILED: {e}");
            std::process::exit(3);
        }
    }
}

fn start(dir: &Path, port: u16, rank: usize, die: bool) -> std::process::Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "rank", "--nocapture", "--test-threads", "1"])
        .env("DP_RANK", rank.to_string())
        .env("DP_PORT", port.to_string())
        .env("DP_DIR", dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if die {
        cmd.env("DP_DIE", "1");
    }
    cmd.spawn().unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_killed_rank_is_named_by_the_survivor_and_both_resume_from_rank_0s_backup() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let survivor = start(dir.path(), port, 0, true);
    let victim = start(dir.path(), port, 1, true);
    let victim = victim.wait_with_output().unwrap();
    let died = Instant::now();
    assert!(!victim.status.success(), "rank 1 was to abort");
    let survivor = survivor.wait_with_output().unwrap();
    let waited = died.elapsed();
    let message = text(&survivor);
    assert_eq!(survivor.status.code(), Some(3), "rank 0: {message}");
    assert!(
        message.contains("FIT FAILED") && message.contains("lost rank 1"),
        "rank 0 does not name the lost peer: {message}"
    );
    if let Some(line) = message.lines().find(|l| l.contains("FIT FAILED")) {
        eprintln!("rank 0, {waited:?} after rank 1 died: {line}");
    }
    assert!(
        waited < TIMEOUT / 2,
        "rank 0 took {waited:?} to notice (timeout {TIMEOUT:?})"
    );
    // Rank 0 backed up epoch 0; rank 1 never writes a backup.
    assert!(BackupAndRestore::latest(&backup_dir(dir.path(), 0)).is_some());
    assert!(!backup_dir(dir.path(), 1).exists());

    // Both again, on a new port: they resume from epoch 1 with rank 0's backup.
    let port = free_port();
    let ranks: Vec<_> = (0..2).map(|r| start(dir.path(), port, r, false)).collect();
    for (rank, child) in ranks.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "rank {rank}: {}", text(&out));
        let first = std::fs::read_to_string(dir.path().join(format!("rank{rank}.first-epoch")));
        assert_eq!(first.unwrap(), "1", "rank {rank} did not resume at epoch 1");
    }
    let mut single = model();
    let (x, y) = data();
    single.fit(&x, &y, options(8)).unwrap();
    let want: std::collections::HashMap<String, Tensor> =
        single.get_weights().unwrap().into_iter().collect();
    for rank in 0..2 {
        let got =
            Tensor::read_safetensors(dir.path().join(format!("rank{rank}.safetensors"))).unwrap();
        assert_eq!(got.len(), want.len());
        for (name, g) in got {
            let w = &want[&name];
            let diff = f64::try_from((&g - w).abs().max()).unwrap();
            assert!(
                diff < 1e-5,
                "rank {rank} {name}: {diff:e} from one uninterrupted process"
            );
        }
    }
}
