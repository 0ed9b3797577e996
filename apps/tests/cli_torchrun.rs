//! `torchrun --nproc-per-node 2 --no-python convkit mnist --epochs 1` (issue 16, item 2): the
//! two ranks train data-parallel on the real MNIST (64 per rank, a global batch of 128), rank
//! 0 alone prints and writes one set of outputs, and the test accuracy is within 0.003 of one
//! process trained at batch 128. (The two runs do not end with identical weights: RMSprop
//! turns the float rounding of near-zero gradients, which depends on how the sums are split
//! across threads and ranks, into steps of about the learning rate; one process on 1 and on 2
//! threads differs as much. The accuracy is what a user compares.)

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::class_folders;

const BIN: &str = env!("CARGO_BIN_EXE_convkit");

fn data() -> PathBuf {
    std::env::var_os("CONVKIT_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets"))
}

/// `torchrun --nproc-per-node 2 --no-python convkit ARGS` on a free port of 127.0.0.1.
fn torchrun(args: &[&std::ffi::OsStr]) -> Output {
    let port = free_port().to_string();
    Command::new(common::venv().join("bin/torchrun"))
        .args(["--nproc-per-node", "2", "--master-addr", "127.0.0.1"])
        .args(["--master-port", &port, "--no-python", BIN])
        .args(args)
        .env_remove("CONVKIT_DEVICE")
        .env_remove("CONVKIT_THREADS")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn test_accuracy(out: &Path) -> f64 {
    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("metrics.json")).unwrap()).unwrap();
    metrics["test_accuracy"].as_f64().unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn torchrun_two_ranks_train_mnist_like_one_process_at_the_global_batch() {
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    let data = data();
    let out = torchrun(&[
        "mnist".as_ref(),
        "--epochs".as_ref(),
        "1".as_ref(),
        "--out".as_ref(),
        dist.as_os_str(),
        "--data-dir".as_ref(),
        data.as_os_str(),
    ]);
    let log = text(&out);
    assert!(out.status.success(), "torchrun: {log}");
    // The ranks join torchrun's own store (TORCHELASTIC_USE_AGENT_STORE), as PyTorch does.
    assert!(!log.contains("failed to bind"), "{log}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // One set of outputs, from rank 0.
    assert_eq!(stdout.matches("Test loss:").count(), 1, "{log}");
    assert_eq!(stdout.matches("Total params").count(), 1, "{log}");
    assert_eq!(stdout.matches("Epoch 1/1").count(), 1, "{log}");
    assert!(
        stdout.contains("Global batch 128 (64 per rank on 2 ranks)"),
        "{log}"
    );
    let mut files: Vec<String> = std::fs::read_dir(&dist)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            ".convkit.lock",
            "confusion.png",
            "curves.png",
            "history.json",
            "metrics.json",
            "model"
        ],
        "{log}"
    );
    let history: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dist.join("history.json")).unwrap()).unwrap();
    assert_eq!(history["loss"].as_array().unwrap().len(), 1);

    let single = dir.path().join("single");
    let out = Command::new(BIN)
        .args(["mnist", "--epochs", "1", "--batch-size", "128", "--out"])
        .arg(&single)
        .arg("--data-dir")
        .arg(&data)
        .env_remove("CONVKIT_DEVICE")
        .output()
        .unwrap();
    assert!(out.status.success(), "one process: {}", text(&out));
    let (two, one) = (test_accuracy(&dist), test_accuracy(&single));
    eprintln!("test accuracy: 2 ranks x 64 {two}, 1 process x 128 {one}");
    assert!(
        (two - one).abs() <= 0.003,
        "2 ranks: {two}, one process: {one}"
    );
}

/// `convkit train` on a folder of class folders under torchrun: rank 0 alone prints the report
/// and writes `--out`; the best model it saved predicts.
#[test]
fn torchrun_two_ranks_run_convkit_train() {
    let dir = tempfile::tempdir().unwrap();
    let images = class_folders::tree(&dir.path().join("images"), &class_folders::ODD_NAMES);
    let out_dir = dir.path().join("out");
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "train".as_ref(),
        images.as_os_str(),
        "--out".as_ref(),
        out_dir.as_os_str(),
        "--model".as_ref(),
        "logistic".as_ref(),
    ];
    args.extend(
        class_folders::SHORT
            .iter()
            .flatten()
            .map(|a| -> &std::ffi::OsStr { a.as_ref() }),
    );
    let out = torchrun(&args);
    let log = text(&out);
    assert!(out.status.success(), "torchrun: {log}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches("Classification report").count(), 1, "{log}");
    assert_eq!(stdout.matches("Found 24 images").count(), 1, "{log}");
    assert!(
        stdout.contains("Global batch 16 (8 per rank on 2 ranks)"),
        "{log}"
    );
    for f in [
        "history.json",
        "report.json",
        "split.json",
        "model/model.json",
    ] {
        assert!(out_dir.join(f).is_file(), "{f} missing: {log}");
    }
    let img = images.join("x.y/img 0.png");
    let predicted = Command::new(BIN)
        .args(["predict", "--model"])
        .arg(out_dir.join("model"))
        .arg(&img)
        .output()
        .unwrap();
    assert!(predicted.status.success(), "{}", text(&predicted));
    assert!(
        String::from_utf8_lossy(&predicted.stdout).contains("x.y"),
        "{}",
        text(&predicted)
    );
}
