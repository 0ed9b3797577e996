//! Data-parallel `fit` (`FitOptions::distributed`) on two processes over 127.0.0.1 takes the
//! same steps as one process with the global batch: 2 ranks at batch 4 end with the weights
//! of 1 process at batch 8 (shuffled epochs, the same seed), even when rank 1 starts from
//! other weights (rank 0's are broadcast), and every rank logs one process's epoch losses.
//! The test binary starts itself as the two ranks.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use convkit_layers::prelude::*;
use convkit_tensor::distributed::ProcessGroup;
use convkit_tensor::tch::{Device, Kind, Tensor};

fn model() -> Sequential {
    convkit_tensor::seed::set_seed(7);
    let mut m = Sequential::new();
    m.add(Dense::new(6).activation(Activation::Tanh).input_shape([4]))
        .unwrap();
    m.add(Dense::new(3).activation(Activation::Softmax))
        .unwrap();
    m.compile(
        RMSprop::new().learning_rate(0.01),
        Loss::SparseCategoricalCrossentropy { from_logits: false },
        &[Metric::Accuracy],
    )
    .unwrap();
    m
}

fn data() -> (Tensor, Tensor) {
    convkit_tensor::tch::manual_seed(3);
    let x = Tensor::randn([32, 4], (Kind::Float, Device::Cpu));
    let y = Tensor::randint(3, [32], (Kind::Int64, Device::Cpu));
    (x, y)
}

fn options(batch: usize) -> FitOptions {
    FitOptions::new()
        .epochs(3)
        .batch_size(batch)
        .shuffle(true)
        .verbose(Verbosity::Silent)
}

fn weights_file(dir: &Path, rank: usize) -> PathBuf {
    dir.join(format!("rank{rank}.safetensors"))
}

/// One rank's training (run only when started by the tests below).
#[test]
fn rank() {
    let Ok(rank) = std::env::var("DP_RANK") else {
        return;
    };
    let rank: usize = rank.parse().unwrap();
    let port: u16 = std::env::var("DP_PORT").unwrap().parse().unwrap();
    let dir = PathBuf::from(std::env::var("DP_DIR").unwrap());
    let group =
        ProcessGroup::new_gloo("127.0.0.1", port, rank, 2, Duration::from_secs(60)).unwrap();
    if std::env::var_os("DP_NAN").is_some() {
        return nan_rank(rank, group, &dir);
    }
    if std::env::var_os("DP_BN").is_some() {
        return batch_norm_rank(rank, group, &dir);
    }
    let mut m = model();
    if rank == 1 {
        // Other initial weights: the broadcast must replace them.
        for (_, p) in m.named_params() {
            let _ = convkit_tensor::tch::no_grad(|| p.tensor.shallow_clone().fill_(0.5));
        }
    }
    let (x, y) = data();
    let history = m
        .fit(&x, &y, options(4).distributed(Arc::new(group)))
        .unwrap();
    save_weights(&m, &weights_file(&dir, rank)).unwrap();
    let losses: Vec<String> = history
        .get("loss")
        .unwrap()
        .iter()
        .map(|v| v.to_string())
        .collect();
    std::fs::write(dir.join(format!("rank{rank}.loss")), losses.join(" ")).unwrap();
}

/// Rank 1's second batch holds a NaN image: its loss is NaN, rank 0's is not, and the averaged
/// gradients are NaN on both. `TerminateOnNaN` sees the batch loss of all ranks (reduced with
/// the gradients), so both ranks stop after that batch, and `fit` ends normally on both
/// (without it rank 0 would go on alone and fail on the lost peer).
fn nan_rank(rank: usize, group: ProcessGroup, dir: &Path) {
    let mut m = model();
    let (x, y) = data();
    // Unshuffled, rank 1 takes positions 1, 3, 5...: its batch 1 (of 4) starts at 9.
    let _ = x.get(9).fill_(f64::NAN);
    let opts = options(4)
        .shuffle(false)
        .callback(TerminateOnNaN::new())
        .distributed(Arc::new(group));
    let history = m.fit(&x, &y, opts).unwrap();
    let reason = history.stop_reason.unwrap_or_default();
    std::fs::write(dir.join(format!("rank{rank}.stop")), reason).unwrap();
}

/// A trainable BatchNormalization normalises with each rank's batch statistics, so its moving
/// statistics drift apart; after each epoch they are rank 0's on every rank (DDP's
/// `broadcast_buffers`): both ranks end with identical weights and buffers.
fn batch_norm_rank(rank: usize, group: ProcessGroup, dir: &Path) {
    convkit_tensor::seed::set_seed(7);
    let mut m = Sequential::new();
    m.add(Dense::new(6).input_shape([4])).unwrap();
    m.add(BatchNormalization::new()).unwrap();
    m.add(Dense::new(3).activation(Activation::Softmax))
        .unwrap();
    m.compile(
        SGD::new().learning_rate(0.1),
        Loss::SparseCategoricalCrossentropy { from_logits: false },
        &[Metric::Accuracy],
    )
    .unwrap();
    let (x, y) = data();
    m.fit(&x, &y, options(4).distributed(Arc::new(group)))
        .unwrap();
    save_weights(&m, &weights_file(dir, rank)).unwrap();
}

/// Starts the two ranks of `rank()` (with `vars`) and waits for both to succeed.
fn run_ranks(dir: &Path, vars: &[(&str, &str)]) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let children: Vec<_> = (0..2)
        .map(|rank| {
            Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "rank", "--nocapture", "--test-threads", "1"])
                .env("DP_RANK", rank.to_string())
                .env("DP_PORT", port.to_string())
                .env("DP_DIR", dir)
                .envs(vars.iter().copied())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (rank, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "rank {rank}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn a_nan_on_one_rank_stops_both_at_the_same_batch() {
    let dir = tempfile::tempdir().unwrap();
    run_ranks(dir.path(), &[("DP_NAN", "1")]);
    for rank in 0..2 {
        let reason = std::fs::read_to_string(dir.path().join(format!("rank{rank}.stop"))).unwrap();
        assert!(
            reason.starts_with("Batch 1 of epoch 1: invalid loss"),
            "rank {rank}: {reason:?}"
        );
    }
}

#[test]
fn batch_norm_buffers_are_rank_0s_after_each_epoch() {
    let dir = tempfile::tempdir().unwrap();
    run_ranks(dir.path(), &[("DP_BN", "1")]);
    let read = |rank| -> std::collections::HashMap<String, Tensor> {
        Tensor::read_safetensors(weights_file(dir.path(), rank))
            .unwrap()
            .into_iter()
            .collect()
    };
    let (zero, one) = (read(0), read(1));
    assert!(zero.keys().any(|k| k.contains("moving_mean")));
    for (name, w) in &zero {
        assert!(w.equal(&one[name]), "{name}: rank 1 differs from rank 0");
    }
}

#[test]
fn two_ranks_at_batch_4_train_as_one_process_at_batch_8() {
    let dir = tempfile::tempdir().unwrap();
    run_ranks(dir.path(), &[]);
    let mut single = model();
    let (x, y) = data();
    let history = single.fit(&x, &y, options(8)).unwrap();
    let want: Vec<(String, Tensor)> = single.get_weights().unwrap();
    for rank in 0..2 {
        let got: std::collections::HashMap<String, Tensor> =
            Tensor::read_safetensors(weights_file(dir.path(), rank))
                .unwrap()
                .into_iter()
                .collect();
        for (name, w) in &want {
            let g = &got[name];
            let diff = f64::try_from((g - w).abs().max()).unwrap();
            assert!(
                diff < 1e-5,
                "rank {rank} {name}: differs by {diff:e} from one process"
            );
        }
        // Every rank logs the global epoch losses: one process's.
        let losses = std::fs::read_to_string(dir.path().join(format!("rank{rank}.loss"))).unwrap();
        let losses: Vec<f64> = losses.split(' ').map(|v| v.parse().unwrap()).collect();
        let want = history.get("loss").unwrap();
        assert_eq!(losses.len(), want.len());
        for (g, w) in losses.iter().zip(want) {
            assert!(
                (g - w).abs() < 1e-5,
                "rank {rank}: epoch loss {g}, one process {w}"
            );
        }
    }
}
