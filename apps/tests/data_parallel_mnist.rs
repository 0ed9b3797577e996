//! Acceptance of data-parallel `fit` (issue 16, item 1): two processes on 127.0.0.1 with Gloo,
//! 20 steps of the book's MNIST convnet at batch 32 per rank, end with the weights of one
//! process trained 20 steps at batch 64 on the same samples (DistributedSampler's sharding:
//! the two ranks' k-th batches together are the single process's k-th batch), with SGD and
//! with RMSprop, and for a convnet whose BatchNormalization is frozen (inference mode, as
//! Keras runs a non-trainable BN); the validation metrics, computed on each rank's unpadded
//! share of an odd-sized validation set and summed across ranks, equal one process's.
//!
//! Tolerances: the only difference between the runs is the order of summation: one process
//! averages 64 per-sample gradients in one reduction, two ranks average 32 each and Gloo adds
//! the two means (then halves). Each gradient differs by float32 rounding (relative ~1e-7).
//! SGD applies gradients linearly (w -= lr * g), so after 20 steps the weights differ by about
//! 20 * lr * |g| * 1e-7, far below 1e-6: the check is max |diff| <= 1e-6 (measured: 3e-8).
//! RMSprop divides by sqrt(v) + 1e-7 where v is a running mean of g^2; for weights whose
//! gradients are tiny a rounding of g is amplified by up to 1/sqrt(v), so the weights there
//! may differ by a few ulps of lr per step: max |diff| <= 1e-5 (lr 1e-3, 20 steps: 1/2000 of
//! the largest possible movement; measured: 8e-8). Losses and metrics are float64 sums: 1e-6.
//! The data are real digits: on uniform noise images, a max-pooling window holds near-equal
//! values, a 1e-8 change of the weights can move its argmax (the gradient then flows through
//! another pixel) and the runs part by 3e-4 after 20 steps, which says nothing about the
//! data-parallel sums. The single process runs with the default threads, the ranks with one
//! each: the result does not depend on it.
//!
//! The test binary starts itself as the two ranks.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use convkit_layers::prelude::*;
use convkit_tensor::distributed::ProcessGroup;
use convkit_tensor::tch::{Device, Kind, Tensor};

const CASES: [&str; 3] = ["sgd", "rmsprop", "frozen-bn"];
const PER_RANK: usize = 32;
const STEPS: i64 = 20;

fn model(case: &str) -> Sequential {
    convkit_tensor::seed::set_seed(11);
    let mut m = match case {
        "frozen-bn" => {
            let mut m = Sequential::new();
            m.add(
                Conv2D::new(8, 3)
                    .activation(Activation::Relu)
                    .input_shape([1, 28, 28]),
            )
            .unwrap();
            m.add(BatchNormalization::new().named("bn")).unwrap();
            m.add(MaxPooling2D::new(2)).unwrap();
            m.add(Flatten::new()).unwrap();
            m.add(Dense::new(10).activation(Activation::Softmax))
                .unwrap();
            // Moving statistics other than 0 and 1, so that inference mode matters.
            let bn = m.get_layer_mut("bn").unwrap();
            for (name, p) in bn.named_params() {
                convkit_tensor::tch::no_grad(|| {
                    let mut t = p.tensor.shallow_clone();
                    if name.contains("variance") {
                        t.copy_(&(Tensor::rand_like(&t) + 0.5))
                    } else {
                        t.copy_(&(Tensor::rand_like(&t) * 0.2))
                    }
                });
            }
            bn.set_trainable(false);
            m
        }
        _ => convkit_layers::applications::mnist_convnet(Device::Cpu).unwrap(),
    };
    let loss = Loss::SparseCategoricalCrossentropy { from_logits: false };
    match case {
        "rmsprop" => m.compile(RMSprop::new(), loss, &[Metric::Accuracy]),
        _ => m.compile(SGD::new().learning_rate(0.05), loss, &[Metric::Accuracy]),
    }
    .unwrap();
    m
}

/// MNIST: the first 20 global batches of 64 training images for training, the first 203
/// test images (an odd number: the ranks' validation shares differ) for validation, scaled
/// to [0, 1].
fn data() -> (Tensor, Tensor, Tensor, Tensor) {
    let dir = std::env::var_os("CONVKIT_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets"));
    let mnist = convkit_data::Mnist::load(&dir.join("mnist")).expect("scripts/test fetches MNIST");
    let n = STEPS * 2 * PER_RANK as i64;
    let scale = |t: &Tensor| convkit_data::mnist::scale_images(t).unwrap();
    let x = scale(&mnist.train_images.narrow(0, 0, n));
    let y = mnist.train_labels.narrow(0, 0, n).to_kind(Kind::Int64);
    let vx = scale(&mnist.test_images.narrow(0, 0, 203));
    let vy = mnist.test_labels.narrow(0, 0, 203).to_kind(Kind::Int64);
    (x, y, vx, vy)
}

fn options(batch: usize) -> FitOptions {
    let (_, _, vx, vy) = data();
    FitOptions::new()
        .epochs(1)
        .batch_size(batch)
        .shuffle(true)
        .validation_data(vx, vy)
        .verbose(Verbosity::Silent)
}

fn file(dir: &Path, case: &str, rank: usize, ext: &str) -> PathBuf {
    dir.join(format!("{case}-rank{rank}.{ext}"))
}

/// One rank's three trainings (run only when started by the test below).
#[test]
fn rank() {
    let Ok(rank) = std::env::var("DP_RANK") else {
        return;
    };
    let rank: usize = rank.parse().unwrap();
    let port: u16 = std::env::var("DP_PORT").unwrap().parse().unwrap();
    let dir = PathBuf::from(std::env::var("DP_DIR").unwrap());
    convkit_tensor::threads::set_num_threads(1);
    let group = Arc::new(
        ProcessGroup::new_gloo("127.0.0.1", port, rank, 2, Duration::from_secs(60)).unwrap(),
    );
    for case in CASES {
        let mut m = model(case);
        let (x, y, _, _) = data();
        let history = m
            .fit(&x, &y, options(PER_RANK).distributed(group.clone()))
            .unwrap();
        save_weights(&m, &file(&dir, case, rank, "safetensors")).unwrap();
        std::fs::write(
            file(&dir, case, rank, "json"),
            serde_json::to_string(&history.history).unwrap(),
        )
        .unwrap();
    }
}

#[test]
fn two_ranks_at_batch_32_take_the_steps_of_one_process_at_batch_64() {
    let dir = tempfile::tempdir().unwrap();
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
                .env("DP_DIR", dir.path())
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
    for case in CASES {
        let mut single = model(case);
        let (x, y, _, _) = data();
        let history = single.fit(&x, &y, options(2 * PER_RANK)).unwrap();
        let tolerance = if case == "rmsprop" { 1e-5 } else { 1e-6 };
        let want: Vec<(String, Tensor)> = single.get_weights().unwrap();
        for rank in 0..2 {
            let got: HashMap<String, Tensor> =
                Tensor::read_safetensors(file(dir.path(), case, rank, "safetensors"))
                    .unwrap()
                    .into_iter()
                    .collect();
            let mut largest = 0f64;
            for (name, w) in &want {
                let diff = f64::try_from((&got[name] - w).abs().max()).unwrap();
                largest = largest.max(diff);
                assert!(
                    diff <= tolerance,
                    "{case}, rank {rank}, {name}: differs by {diff:e} from one process"
                );
            }
            eprintln!("{case}, rank {rank}: largest weight difference {largest:e}");
            let logs: HashMap<String, Vec<f64>> = serde_json::from_str(
                &std::fs::read_to_string(file(dir.path(), case, rank, "json")).unwrap(),
            )
            .unwrap();
            for key in ["loss", "accuracy", "val_loss", "val_accuracy"] {
                let (g, w) = (logs[key][0], history.get(key).unwrap()[0]);
                assert!(
                    (g - w).abs() <= 1e-6,
                    "{case}, rank {rank}: {key} {g}, one process {w}"
                );
            }
        }
    }
}
