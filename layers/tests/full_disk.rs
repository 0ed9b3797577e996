//! A save to a full disk fails with a clear error and keeps the previous complete version.
//! The disk is made full without a mount: the test re-runs itself under `ulimit -f` (the
//! kernel's RLIMIT_FSIZE, with SIGXFSZ ignored so a write past it fails with EFBIG), and the
//! child saves a model too large for the limit over a model saved without it.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use convkit_layers::prelude::*;
use convkit_tensor::tch::Device;

const CHILD: &str = "CONVKIT_FULL_DISK_DIR";
/// The child's file size limit, in KiB (`ulimit -f` counts 1024-byte blocks).
const LIMIT_KIB: u64 = 64;

/// A compiled dense model of `units` units on 32 inputs (`units` × 33 weights).
fn dense(units: i64) -> Sequential {
    let mut m = Sequential::new();
    m.add(Dense::new(units).input_shape([32])).unwrap();
    m.compile("rmsprop", "mse", [] as [&str; 0]).unwrap();
    m
}

/// The child's part: runs only when the parent started this binary under the limit.
#[test]
fn full_disk_child() {
    let Some(dir) = std::env::var_os(CHILD) else {
        return;
    };
    let dir = Path::new(&dir);
    // 4096 x 33 float weights (528 KiB) and as much RMSprop state: past the 64 KiB limit.
    let e = save_model(&dense(4096), dir).unwrap_err().to_string();
    assert!(e.contains("File too large"), "{e}");
    assert!(e.contains("model.safetensors"), "names the file: {e}");
    assert!(
        e.starts_with(&format!(
            "{}: cannot save the model (the previous one is kept)",
            dir.display()
        )),
        "{e}"
    );
    // The parent reads this line to know the child ran (the harness passes it through).
    writeln!(std::io::stdout(), "CHILD-REFUSED: {e}").unwrap();
}

#[test]
fn a_save_to_a_full_disk_fails_clearly_and_keeps_the_previous_version() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("model");
    let before = dense(4);
    save_model(&before, &dir).unwrap();
    let files = |d: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let listed = (files(tmp.path()), files(&dir));

    let me = std::env::current_exe().unwrap();
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f {LIMIT_KIB}; exec \"$0\" \"$@\""
        ))
        .arg(&me)
        .args([
            "--exact",
            "full_disk_child",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD, &dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("CHILD-REFUSED"),
        "the child did not run: {text}"
    );

    // The previous model is whole, and nothing half-written is left beside it.
    assert_eq!((files(tmp.path()), files(&dir)), listed);
    let loaded = load_model(&dir, Device::Cpu).unwrap();
    let (a, b) = (before.get_weights().unwrap(), loaded.get_weights().unwrap());
    assert_eq!(a.len(), b.len());
    for ((n, x), (_, y)) in a.iter().zip(b.iter()) {
        assert!(x.equal(y), "{n}");
    }
}
