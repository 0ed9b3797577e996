//! A save to a full disk fails with a clear error and keeps the previous complete version.
//! The disk is made full without a mount: the test re-runs itself under `ulimit -f` (the
//! kernel's RLIMIT_FSIZE, with SIGXFSZ ignored so a write past it fails with EFBIG), and the
//! child saves a model too large for the limit over a model saved without it, and backs up an
//! epoch too large for it over the backup of the epoch before.

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
    if std::env::var_os(CHILD).is_some() || std::env::var_os(BACKUP_CHILD).is_some() {
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

    let text = run_limited("full_disk_child", CHILD, &dir);
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

const BACKUP_CHILD: &str = "CONVKIT_FULL_DISK_BACKUP";

/// `fit` on 64 random samples, backed up into `backup` (kept after success).
fn fit_backed_up(backup: &Path, epochs: usize) -> convkit_layers::Result<History> {
    convkit_tensor::seed::set_seed(5);
    let opts = (convkit_tensor::tch::Kind::Float, Device::Cpu);
    let x = convkit_tensor::tch::Tensor::rand([64, 32], opts);
    let y = convkit_tensor::tch::Tensor::rand([64, 4096], opts);
    let options = FitOptions::new()
        .epochs(epochs)
        .batch_size(32)
        .verbose(Verbosity::Silent)
        .callback(BackupAndRestore::new(backup).keep_on_success(true));
    dense(4096).fit(&x, &y, options)
}

/// The child's part of the backup case: resumes epoch 1, trains epoch 2, cannot back it up.
#[test]
fn full_disk_backup_child() {
    let Some(dir) = std::env::var_os(BACKUP_CHILD) else {
        return;
    };
    let e = fit_backed_up(Path::new(&dir), 2).unwrap_err().to_string();
    assert!(
        e.contains("cannot back up epoch 2 (the previous backup is kept)"),
        "{e}"
    );
    assert!(e.contains("File too large"), "{e}");
    writeln!(std::io::stdout(), "CHILD-REFUSED: {e}").unwrap();
}

#[test]
fn a_backup_to_a_full_disk_fails_clearly_and_keeps_the_previous_backup() {
    if std::env::var_os(BACKUP_CHILD).is_some() || std::env::var_os(CHILD).is_some() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let backup = tmp.path().join("backup");
    fit_backed_up(&backup, 1).unwrap();
    let latest = std::fs::read_to_string(backup.join("latest")).unwrap();
    let before = std::fs::read(backup.join(&latest).join("model.safetensors")).unwrap();

    let text = run_limited("full_disk_backup_child", BACKUP_CHILD, &backup);
    assert!(
        text.contains("CHILD-REFUSED"),
        "the child did not run: {text}"
    );

    assert_eq!(
        std::fs::read_to_string(backup.join("latest")).unwrap(),
        latest
    );
    let after = std::fs::read(backup.join(&latest).join("model.safetensors")).unwrap();
    assert_eq!(before, after, "the previous backup is untouched");
    let names: Vec<String> = std::fs::read_dir(&backup)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.contains(".tmp-")),
        "left a temporary: {names:?}"
    );
    // The run resumes from it once the disk has room again.
    let h = fit_backed_up(&backup, 2).unwrap();
    assert_eq!(h.epoch, vec![0, 1]);
}

/// Runs the child test `name` of this binary under the file size limit, with `var` set to
/// `dir`; returns its output (asserting that it passed).
fn run_limited(name: &str, var: &str, dir: &Path) -> String {
    let me = std::env::current_exe().unwrap();
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f {LIMIT_KIB}; exec \"$0\" \"$@\""
        ))
        .arg(&me)
        .args(["--exact", name, "--nocapture", "--test-threads", "1"])
        .env(var, dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    text
}
