//! The `convkit mnist` command end to end on a small synthetic MNIST written as IDX files:
//! outputs, bad input, and a run killed mid-epoch that resumes to the same final weights.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use convkit_data::idx::encode_u8;
use convkit_tensor::tch::Tensor;

const BIN: &str = env!("CARGO_BIN_EXE_convkit");

/// Writes `n_train` / `n_test` random digits (deterministic bytes) as the four MNIST files.
fn synthetic_mnist(dir: &Path, n_train: u32, n_test: u32) {
    let mnist = dir.join("mnist");
    std::fs::create_dir_all(&mnist).unwrap();
    let mut state: u32 = 12345;
    let mut next = move || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 24) as u8
    };
    for (prefix, n) in [("train", n_train), ("t10k", n_test)] {
        let images: Vec<u8> = (0..n * 784).map(|_| next()).collect();
        let labels: Vec<u8> = (0..n).map(|_| next() % 10).collect();
        std::fs::write(
            mnist.join(format!("{prefix}-images-idx3-ubyte")),
            encode_u8(&[n, 28, 28], &images),
        )
        .unwrap();
        std::fs::write(
            mnist.join(format!("{prefix}-labels-idx1-ubyte")),
            encode_u8(&[n], &labels),
        )
        .unwrap();
    }
}

fn convkit(args: &[&str], data: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .arg("--data-dir")
        .arg(data)
        .env_remove("LD_LIBRARY_PATH")
        .env_remove("CONVKIT_DEVICE")
        .env("RUST_LOG", "info");
    c
}

fn run(args: &[&str], data: &Path) -> Output {
    convkit(args, data).output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The saved weights, sorted by name (safetensors files carry no order).
fn weights(dir: &Path) -> Vec<(String, Tensor)> {
    let mut w = Tensor::read_safetensors(dir.join("model/model.safetensors")).unwrap();
    w.sort_by(|a, b| a.0.cmp(&b.0));
    w
}

#[test]
fn trains_evaluates_and_writes_its_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    synthetic_mnist(tmp.path(), 256, 64);
    let out = tmp.path().join("out");
    let o = run(
        &[
            "mnist",
            "--epochs",
            "1",
            "--out",
            out.to_str().unwrap(),
            "--validation-split",
            "0.25",
        ],
        tmp.path(),
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("Total params: 93,322"), "{t}");
    assert!(t.contains("Epoch 1/1") && t.contains("val_accuracy"), "{t}");
    assert!(t.contains("Test loss:"), "{t}");
    for f in [
        "model/model.json",
        "model/model.safetensors",
        "model/optimizer.safetensors",
        "history.json",
        "metrics.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("metrics.json")).unwrap()).unwrap();
    let acc = metrics["test_accuracy"].as_f64().unwrap();
    assert!(
        (0.0..=1.0).contains(&acc) && metrics["test_loss"].as_f64().unwrap() > 0.0,
        "{metrics}"
    );
    assert!(
        !out.join("backup").exists(),
        "the backup is removed after a complete run"
    );
    let model = convkit_layers::saving::load_model(&out, convkit_tensor::tch::Device::Cpu).unwrap();
    assert_eq!(convkit_layers::Model::count_params(model.as_ref()), 93_322);
}

#[test]
fn cuda_without_gpu_missing_data_and_bad_options_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    let o = run(&["mnist", "--epochs", "1"], &empty);
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    assert!(
        t.contains("MNIST not found") && t.contains("scripts/run mnist") && !t.contains("panicked"),
        "{t}"
    );

    if !convkit_tensor::tch::Cuda::is_available() {
        let o = run(&["mnist", "--device", "cuda"], &empty);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(1), "{t}");
        assert!(
            t.contains("CUDA device 0 was requested") && !t.contains("panicked"),
            "{t}"
        );
    }
    let o = run(&["mnist", "--device", "tpu"], &empty);
    assert!(text(&o).contains("invalid device 'tpu'"));
    synthetic_mnist(tmp.path(), 64, 16);
    let o = run(
        &[
            "mnist",
            "--optimizer",
            "adagrad",
            "--out",
            tmp.path().join("o").to_str().unwrap(),
        ],
        tmp.path(),
    );
    let t = text(&o);
    assert!(
        t.contains("unknown optimizer") && !t.contains("panicked"),
        "{t}"
    );
    // Numbers that cannot be used are refused with their range, never replaced or used as is.
    let out = tmp.path().join("o");
    for (option, value, expected) in [
        ("--lr", "nan", "NaN is not in (0, 10]"),
        ("--lr", "inf", "inf is not in (0, 10]"),
        ("--lr", "-1", "-1 is not in (0, 10]"),
        ("--validation-split", "1", "1 is not in [0, 1)"),
        ("--threads", "100000", "100000 is not in 0..=1024"),
        ("--test-limit", "0", "1..=10000"),
        ("--train-limit", "0", "1..=60000"),
        ("--batch-size", "0", "1..=60000"),
        ("--epochs", "0", "1..=100000"),
    ] {
        let o = run(
            &["mnist", option, value, "--out", out.to_str().unwrap()],
            tmp.path(),
        );
        let t = text(&o);
        assert_ne!(o.status.code(), Some(0), "{option} {value}: {t}");
        assert!(
            t.contains(expected) && !t.contains("panicked") && !t.contains("test accuracy"),
            "{option} {value}: {t}"
        );
    }
    // A truncated IDX file names the file and both sizes.
    let f = tmp.path().join("mnist/t10k-images-idx3-ubyte");
    let bytes = std::fs::read(&f).unwrap();
    std::fs::write(&f, &bytes[..bytes.len() - 100]).unwrap();
    let t = text(&run(
        &[
            "mnist",
            "--epochs",
            "1",
            "--out",
            tmp.path().join("o").to_str().unwrap(),
        ],
        tmp.path(),
    ));
    assert!(
        t.contains("t10k-images-idx3-ubyte")
            && t.contains(&format!(
                "expected {} bytes, found {}",
                bytes.len(),
                bytes.len() - 100
            )),
        "{t}"
    );
}

#[test]
fn a_killed_run_resumes_to_the_same_final_weights() {
    let tmp = tempfile::tempdir().unwrap();
    synthetic_mnist(tmp.path(), 4096, 64);
    let args = |out: &Path| -> Vec<String> {
        [
            "mnist",
            "--epochs",
            "3",
            "--seed",
            "11",
            "--device",
            "cpu",
            "--out",
            out.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let full = tmp.path().join("full");
    let a = args(&full);
    let o = run(
        &a.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        tmp.path(),
    );
    assert!(o.status.success(), "{}", text(&o));

    let killed = tmp.path().join("killed");
    let a = args(&killed);
    let mut child = convkit(
        &a.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        tmp.path(),
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let latest = killed.join("backup/latest");
    let start = Instant::now();
    while !latest.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no backup appeared"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before a backup was seen"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // Epoch 1 is done and backed up; let epoch 2 start, then kill -9 in the middle of it.
    std::thread::sleep(Duration::from_millis(300));
    let still_running = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        still_running,
        "the run ended before it could be killed; make the dataset larger"
    );
    assert!(!killed.join("model").exists());

    let o = run(
        &a.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        tmp.path(),
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("resuming from backup"), "{t}");
    let (wf, wk) = (weights(&full), weights(&killed));
    assert_eq!(wf.len(), wk.len());
    for ((n, x), (_, y)) in wf.iter().zip(wk.iter()) {
        assert!(
            x.equal(y),
            "{n} differs between the uninterrupted and the resumed run"
        );
    }
}

#[test]
fn the_binary_links_libtorch_cuda_when_the_wheel_has_it_and_needs_no_ld_library_path() {
    let Ok(out) = Command::new("ldd")
        .arg(BIN)
        .env_remove("LD_LIBRARY_PATH")
        .output()
    else {
        return;
    };
    let ldd = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!ldd.contains("not found"), "{ldd}");
    let libtorch = ldd
        .lines()
        .find(|l| l.trim_start().starts_with("libtorch.so"))
        .unwrap_or_else(|| panic!("libtorch.so is not linked:\n{ldd}"));
    let path = libtorch
        .split("=>")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap();
    let dir = Path::new(path).parent().unwrap();
    if dir.join("libtorch_cuda.so").exists() {
        assert!(
            ldd.contains("libtorch_cuda.so =>"),
            "libtorch_cuda.so exists in {} but is not loaded:\n{ldd}",
            dir.display()
        );
    }
    let o = Command::new(BIN)
        .arg("--help")
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .unwrap();
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).contains("mnist"));
}
