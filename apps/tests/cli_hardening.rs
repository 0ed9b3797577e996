//! Hostile input through the commands (issue 13): options out of range, sizes past the
//! machine's memory, FIFOs where images are expected, truncated JPEGs, size fields that
//! overflow, a second run on a busy `--out`, an `--out` that cannot be written. Each case must
//! end quickly with a message naming the option or file, never a panic, an abort, a hang or a
//! C++ backtrace, and must leave no output folder behind when it is refused before any work.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

mod common;

use convkit_layers::prelude::*;

/// Runs the binary with a time limit; returns the exit code and stdout + stderr.
fn run(args: &[&str], limit: Duration) -> (Option<i32>, String) {
    common::run_limited(args, &[("RUST_LOG", "info")], limit)
}

/// A 64x64 noise picture saved as `name` (the format follows the extension).
fn picture(dir: &Path, name: &str) -> PathBuf {
    let mut state = 7u32;
    let img = image::RgbImage::from_fn(64, 64, |_, _| {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        image::Rgb([(state >> 24) as u8, (state >> 16) as u8, (state >> 8) as u8])
    });
    let path = dir.join(name);
    img.save(&path).unwrap();
    path
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo {}", path.display());
}

#[test]
fn options_out_of_range_are_refused_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let img = picture(tmp.path(), "a.png");
    let img = img.to_str().unwrap();
    let out = tmp.path().join("out");
    let o = out.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["augment", "preview", img, "--size", "0", "--out", o],
            "0 is not in 8..=2048",
        ),
        (
            vec!["augment", "preview", img, "--count", "0", "--out", o],
            "0 is not in 1..=256",
        ),
        (
            vec!["bench", "transforms", "--size", "0"],
            "0 is not in 8..=2048",
        ),
        (
            vec!["bench", "loader", o, "--batch-size", "0"],
            "0 is not in 1..=65536",
        ),
        (
            vec!["bench", "step", "--steps", "0", "--profile"],
            "0 is not in 1..=100000",
        ),
        (
            vec!["bench", "step", "--rounds", "0"],
            "0 is not in 1..=1000",
        ),
        (
            vec!["segment", "--held-out", "0", "--out", o],
            "0 is not in 1..=1000000",
        ),
        (
            vec!["segment", "--lr", "inf", "--out", o],
            "inf is not in (0, 10]",
        ),
        (
            vec!["segment", "--size", "100000", "--out", o],
            "100000 is not in 16..=1024",
        ),
        (
            vec!["catdog", "--loader-threads", "100000", "--out", o],
            "100000 is not in 0..=256",
        ),
        (
            vec!["catdog", "--size", "8", "--out", o],
            "8 is not in 38..=1024",
        ),
        (
            vec!["catdog", "--per-class", "10,0,10", "--out", o],
            "0 is not in 1..=1000000",
        ),
        (
            vec!["finetune", "--per-class", "5,5,99999999", "--out", o],
            "99999999 is not in 1..=1000000",
        ),
        (
            vec!["features", "--epochs", "0", "--out", o],
            "0 is not in 1..=100000",
        ),
        (
            vec!["finetune", "--finetune-lr", "nan", "--out", o],
            "NaN is not in (0, 10]",
        ),
        (
            vec![
                "predict",
                "--model",
                "efficientnet-lite0",
                "--top",
                "0",
                img,
            ],
            "0 is not in 1..=1000",
        ),
        (
            vec![
                "gradcam",
                "--model",
                "efficientnet-lite0",
                "--alpha",
                "2",
                img,
            ],
            "2 is not in [0, 1]",
        ),
        (vec!["plot", img, "--smooth", "1"], "1 is not in [0, 1)"),
        (
            vec!["filters", "--model", "efficientnet-lite0", "--recipe", "3"],
            "3 is not in 1..=2",
        ),
        (
            vec![
                "activations",
                "--model",
                "efficientnet-lite0",
                "--min-tile",
                "0",
                img,
            ],
            "0 is not in 1..=1024",
        ),
        (
            vec!["mnist", "--threads", "4096", "--out", o],
            "4096 is not in 0..=1024",
        ),
        (
            vec!["train", "--validation-split", "1", "--out", o],
            "1 is not in [0, 1)",
        ),
        (
            vec!["train", "--test-split", "-0.1", "--out", o],
            "-0.1 is not in [0, 1)",
        ),
        (
            vec!["train", "--size", "8", "--out", o],
            "8 is not in 32..=1024",
        ),
        (
            vec!["train", "--lr", "nan", "--out", o],
            "NaN is not in (0, 10]",
        ),
        (
            vec!["train", "--finetune-epochs", "100001", "--out", o],
            "100001 is not in 0..=100000",
        ),
        (
            vec!["train", "--tensorboard-freq", "0", "--out", o],
            "0 is not in 1..=1000000",
        ),
        (
            vec!["train", "--stand-in-per-class", "5", "--out", o],
            "5 is not in 10..=5000",
        ),
        (
            vec!["train", "--extract-batch-size", "0", "--out", o],
            "0 is not in 1..=65536",
        ),
        (
            vec![
                "predict",
                "--model",
                "efficientnet-lite0",
                "--batch-size",
                "0",
                img,
            ],
            "0 is not in 1..=65536",
        ),
        (
            vec!["predict", "--model", "vgg16", "--include-top", "maybe", img],
            "invalid value 'maybe' for '--include-top",
        ),
        (
            vec!["predict", "--model", "vgg16", "--pooling", "sum", img],
            "invalid value 'sum' for '--pooling",
        ),
        (
            vec!["fetch", "vgg16", "--timeout", "0"],
            "0 is not in 1..=3600",
        ),
        (
            vec!["catdog", "--lr", "0", "--out", o],
            "0 is not in (0, 10]",
        ),
    ];
    for (args, expected) in cases {
        let (code, text) = run(&args, Duration::from_secs(30));
        assert_eq!(code, Some(2), "{args:?}: {text}");
        assert!(
            text.contains(expected),
            "{args:?}: expected `{expected}` in {text}"
        );
        assert!(
            !out.exists(),
            "{args:?} made {} before refusing",
            out.display()
        );
    }
}

#[test]
fn work_past_the_memory_of_the_machine_is_refused_before_allocating() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let (code, text) = run(
        &[
            "segment",
            "--scenes",
            "1000000",
            "--size",
            "1024",
            "--out",
            out.to_str().unwrap(),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("--scenes 1000000 at --size 1024 needs") && text.contains("GiB of memory"),
        "{text}"
    );
    assert!(!out.exists(), "a refused run leaves no output folder");
}

#[test]
fn fifos_are_never_waited_on() {
    let tmp = tempfile::tempdir().unwrap();
    // As an argument: refused at once, naming the file and what it is.
    let fifo = tmp.path().join("x.png");
    mkfifo(&fifo);
    let f = fifo.to_str().unwrap();
    for args in [
        vec!["predict", "--model", "efficientnet-lite0", f],
        vec![
            "augment",
            "preview",
            f,
            "--out",
            tmp.path().join("p").to_str().unwrap(),
        ],
        vec!["plot", f],
    ] {
        let (code, text) = run(&args, Duration::from_secs(60));
        assert_eq!(code, Some(1), "{args:?}: {text}");
        assert!(
            text.contains("x.png") && text.contains("FIFO"),
            "{args:?}: {text}"
        );
    }
    // In a class folder: skipped with a warning, the real images are loaded.
    let classes = tmp.path().join("classes");
    for class in ["cat", "dog"] {
        let dir = classes.join(class);
        std::fs::create_dir_all(&dir).unwrap();
        picture(&dir, "1.png");
        picture(&dir, "2.jpg");
        mkfifo(&dir.join("pipe.png"));
    }
    let (code, text) = run(
        &[
            "bench",
            "loader",
            classes.to_str().unwrap(),
            "--epochs",
            "1",
            "--batch-size",
            "2",
            "--size",
            "32",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("Found 4 images belonging to 2 classes"),
        "{text}"
    );
    assert!(
        text.contains("pipe.png") && text.contains("not a regular file"),
        "{text}"
    );
}

#[test]
fn a_truncated_jpeg_is_refused_as_the_folder_loader_refuses_it() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = picture(tmp.path(), "whole.jpg");
    let bytes = std::fs::read(&whole).unwrap();
    let cut = tmp.path().join("cut.jpg");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let c = cut.to_str().unwrap();
    let o = tmp.path().join("o");
    for args in [
        vec!["predict", "--model", "efficientnet-lite0", c],
        vec![
            "gradcam",
            "--model",
            "efficientnet-lite0",
            "--out",
            o.to_str().unwrap(),
            c,
        ],
    ] {
        let (code, text) = run(&args, Duration::from_secs(120));
        assert_eq!(code, Some(1), "{args:?}: {text}");
        assert!(
            text.contains("cut.jpg") && text.contains("truncated JPEG"),
            "{args:?}: {text}"
        );
    }
    let (code, text) = run(
        &[
            "predict",
            "--model",
            "efficientnet-lite0",
            whole.to_str().unwrap(),
        ],
        Duration::from_secs(120),
    );
    assert_eq!(code, Some(0), "the whole JPEG is used: {text}");
}

#[test]
fn sizes_from_files_are_checked_before_allocating() {
    let tmp = tempfile::tempdir().unwrap();
    // An IDX header of 2^31 x 2^31 x 4 items: the product wraps to 0 in 64 bits.
    let mnist = tmp.path().join("data/mnist");
    std::fs::create_dir_all(&mnist).unwrap();
    let bomb = convkit_data::idx::encode_u8(&[1 << 31, 1 << 31, 4], &[]);
    for name in [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ] {
        std::fs::write(mnist.join(name), &bomb).unwrap();
    }
    let out = tmp.path().join("o");
    let (code, text) = run(
        &[
            "mnist",
            "--data-dir",
            tmp.path().join("data").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("idx") && text.contains("multiply past 2^64"),
        "{text}"
    );

    // A model.json asking for 10^12 filters.
    let model_dir = tmp.path().join("huge");
    let mut m = Sequential::new();
    m.add(Conv2D::new(8, 3).input_shape([1, 28, 28])).unwrap();
    save_model(&m, &model_dir).unwrap();
    let arch = model_dir.join("model.json");
    let json = std::fs::read_to_string(&arch).unwrap();
    assert!(json.contains("\"filters\": 8"), "{json}");
    std::fs::write(
        &arch,
        json.replace("\"filters\": 8", "\"filters\": 1000000000000"),
    )
    .unwrap();
    let digit = picture(tmp.path(), "d.png");
    let (code, text) = run(
        &[
            "predict",
            "--model",
            model_dir.to_str().unwrap(),
            digit.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("model.json") && text.contains("GiB of memory"),
        "{text}"
    );
}

#[test]
fn a_busy_or_unwritable_out_is_refused_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("busy");
    let lock = convkit_tensor::dir_lock::DirLock::acquire(&out).unwrap();
    let (code, text) = run(
        &["mnist", "--out", out.to_str().unwrap()],
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(1), "{text}");
    let pid = std::process::id().to_string();
    assert!(
        text.contains("in use by another convkit run") && text.contains(&pid),
        "{text}"
    );
    drop(lock);

    // An --out that is a file (a read-only folder cannot be tested as root, who may write
    // anywhere; the same check, the lock file's creation, refuses it).
    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let (code, text) = run(
        &["mnist", "--out", file.to_str().unwrap()],
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("--out") && text.contains("a-file"), "{text}");
    assert!(!text.contains("Epoch"), "found only after training: {text}");
}
