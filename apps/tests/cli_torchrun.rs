//! `torchrun --nproc-per-node 2 --no-python convkit mnist --epochs 1` (issue 16, item 2): the
//! two ranks train data-parallel on the real MNIST (64 per rank, a global batch of 128), rank
//! 0 alone prints and writes one set of outputs, and the test accuracy is within 0.003 of one
//! process trained at batch 128.
//!
//! The two runs do not end with identical weights: the gradient sums are split differently
//! across threads and ranks, and training turns those roundings into a different trajectory
//! (one process on 1 and on 2 threads differs as much). Measured on an AMD EPYC with AVX-512,
//! seed 1337: 2 ranks 0.9821, one process 0.9780 on 2 threads and 0.9806 on 1 thread, 0.9796
//! and 0.9808 with channels-last off: a spread of about 0.0015 (standard deviation) around the
//! same accuracy, so one pair of runs differs by more than 0.003 about one time in six. The
//! check is on the mean over three seeds (the difference's standard deviation becomes 0.0012:
//! a false alarm about one time in sixty), each pair printed; the weights themselves are compared exactly in `tensor/c10d` and `layers`'
//! data-parallel tests.

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

/// Seeds of the accuracy comparison: the default first (its outputs are checked too).
const SEEDS: [&str; 3] = ["1337", "1", "2"];

#[test]
fn torchrun_two_ranks_train_mnist_like_one_process_at_the_global_batch() {
    let dir = tempfile::tempdir().unwrap();
    let data = data();
    let mut differences = Vec::new();
    for (i, seed) in SEEDS.iter().enumerate() {
        let dist = dir.path().join(format!("dist-{seed}"));
        let out = torchrun(&[
            "mnist".as_ref(),
            "--epochs".as_ref(),
            "1".as_ref(),
            "--seed".as_ref(),
            seed.as_ref(),
            "--out".as_ref(),
            dist.as_os_str(),
            "--data-dir".as_ref(),
            data.as_os_str(),
        ]);
        let log = text(&out);
        assert!(out.status.success(), "torchrun: {log}");
        if i == 0 {
            check_one_set_of_outputs(&dist, &out, &log);
        }
        let single = dir.path().join(format!("single-{seed}"));
        let out = Command::new(BIN)
            .args([
                "mnist",
                "--epochs",
                "1",
                "--batch-size",
                "128",
                "--seed",
                seed,
            ])
            .arg("--out")
            .arg(&single)
            .arg("--data-dir")
            .arg(&data)
            .env_remove("CONVKIT_DEVICE")
            .output()
            .unwrap();
        assert!(out.status.success(), "one process: {}", text(&out));
        let (two, one) = (test_accuracy(&dist), test_accuracy(&single));
        eprintln!("seed {seed}: test accuracy 2 ranks x 64 {two}, 1 process x 128 {one}");
        differences.push(two - one);
    }
    let mean = differences.iter().sum::<f64>() / differences.len() as f64;
    eprintln!("mean difference over seeds {SEEDS:?}: {mean:.4}");
    assert!(
        mean.abs() <= 0.003,
        "2 ranks minus one process, per seed {differences:?}, mean {mean}"
    );
}

/// Rank 0 alone printed the report and wrote `--out`.
fn check_one_set_of_outputs(dist: &Path, out: &Output, log: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The ranks join torchrun's own store (TORCHELASTIC_USE_AGENT_STORE), as PyTorch does.
    assert!(!log.contains("failed to bind"), "{log}");
    assert_eq!(stdout.matches("Test loss:").count(), 1, "{log}");
    assert_eq!(stdout.matches("Total params").count(), 1, "{log}");
    assert_eq!(stdout.matches("Epoch 1/1").count(), 1, "{log}");
    assert!(
        stdout.contains("Global batch 128 (64 per rank on 2 ranks)"),
        "{log}"
    );
    let mut files: Vec<String> = std::fs::read_dir(dist)
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

/// `convkit train --mode features` under torchrun: each rank runs the base over its share of
/// every split (an unreadable file among them), rank 0 writes the caches of the gathered
/// features, and they hold what one process extracts, sample for sample. The features differ
/// only by the float rounding of convolutions over differently composed batches (1.4e-5 at
/// most measured; 1e-4 allowed); targets and sample counts are equal.
#[test]
fn torchrun_two_ranks_extract_features_in_shares() {
    let dir = tempfile::tempdir().unwrap();
    let images = class_folders::tree(&dir.path().join("images"), &class_folders::ODD_NAMES);
    std::fs::write(images.join("a b/broken.png"), b"not a png").unwrap();
    let run_args = |out: &Path, batch: &str| -> Vec<std::ffi::OsString> {
        let mut a: Vec<std::ffi::OsString> = vec!["train".into(), images.clone().into()];
        for s in [
            "--model",
            "efficientnet-lite0",
            "--mode",
            "features",
            "--size",
            "32",
            "--epochs",
            "2",
            "--loader-threads",
            "1",
            "--extract-batch-size",
            "4",
            "--batch-size",
            batch,
            "--out",
        ] {
            a.push(s.into());
        }
        a.push(out.into());
        a
    };
    let two_out = dir.path().join("two");
    let args = run_args(&two_out, "4");
    let out = torchrun(&args.iter().map(|a| a.as_os_str()).collect::<Vec<_>>());
    let log = text(&out);
    assert!(out.status.success(), "torchrun: {log}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches("Classification report").count(), 1, "{log}");
    assert_eq!(stdout.matches("on 2 ranks in").count(), 3, "{log}");
    assert!(two_out.join("model/model.json").is_file(), "{log}");

    let one_out = dir.path().join("one");
    let one = Command::new(BIN)
        .args(run_args(&one_out, "8"))
        .env("CONVKIT_THREADS", "1")
        .output()
        .unwrap();
    assert!(one.status.success(), "{}", text(&one));
    for split in ["train", "validation", "test"] {
        let read = |out: &Path| {
            let file = out
                .join("cache")
                .join(split)
                .join("features-00000.safetensors");
            let mut t = convkit_tensor::tch::Tensor::read_safetensors(&file).unwrap();
            t.sort_by(|a, b| a.0.cmp(&b.0));
            (t.remove(0).1, t.remove(0).1)
        };
        let ((f1, t1), (f2, t2)) = (read(&one_out), read(&two_out));
        assert_eq!(f1.size(), f2.size(), "{split}");
        assert_eq!(t1, t2, "{split}: targets");
        let diff = f64::try_from((&f1 - &f2).abs().max()).unwrap();
        assert!(diff <= 1e-4, "{split}: features differ by {diff}");
    }
}

/// The transfer presets under torchrun: rank 0 builds the offline stand-in and its split in
/// `--out` while rank 1 waits, then both train (`features`: shared extraction and a
/// data-parallel head; `finetune`: frozen then unfrozen base), and rank 0 alone reports.
#[test]
fn torchrun_two_ranks_run_the_transfer_presets() {
    let dir = tempfile::tempdir().unwrap();
    for (preset, extra) in [
        ("features", "--epochs 1"),
        ("finetune", "--epochs 1 --finetune-epochs 1 --batch-size 8"),
    ] {
        let out_dir = dir.path().join(preset);
        let mut args: Vec<std::ffi::OsString> = vec![preset.into()];
        for a in "--per-class 8,6,6 --size 64 --loader-threads 1"
            .split(' ')
            .chain(extra.split(' '))
        {
            args.push(a.into());
        }
        args.extend(["--data-dir".into(), data().into_os_string()]);
        args.extend(["--out".into(), out_dir.clone().into_os_string()]);
        let out = torchrun(&args.iter().map(|a| a.as_os_str()).collect::<Vec<_>>());
        let log = text(&out);
        assert!(out.status.success(), "torchrun {preset}: {log}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(stdout.matches("No --data given").count(), 1, "{log}");
        // One report per phase (finetune: frozen, then fine-tuned), from rank 0 alone.
        let phases = if preset == "finetune" { 2 } else { 1 };
        let reports = stdout.matches("Classification report").count();
        assert_eq!(reports, phases, "{log}");
        assert!(stdout.contains("per rank on 2 ranks"), "{log}");
        if preset == "finetune" {
            assert_eq!(stdout.matches("Unfroze").count(), 1, "{log}");
        }
        let metrics: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out_dir.join("metrics.json")).unwrap()).unwrap();
        assert!(metrics["seconds"].as_f64().is_some(), "{preset}: {metrics}");
        assert!(out_dir.join("model/model.json").is_file(), "{log}");
    }
}
