//! What the CLI tests share: the project venv, the scikit-image photos installed in it, and
//! running the binary with a time limit.
// Each test binary compiles this module and uses only some of its helpers.
#![allow(dead_code)]

pub mod class_folders;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The project venv (`CONVKIT_VENV`, else `.venv` at the repository root).
pub fn venv() -> PathBuf {
    std::env::var_os("CONVKIT_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv"))
}

/// The folder of scikit-image's sample photos (`chelsea.png`, `coffee.png`...) in the venv.
pub fn skimage_photos() -> PathBuf {
    let out = Command::new(venv().join("bin/python"))
        .args([
            "-c",
            "import skimage.data, os; print(os.path.dirname(skimage.data.__file__))",
        ])
        .output()
        .expect("the project venv's python (scripts/test installs scikit-image)");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Runs the convkit binary on the CPU with `args` and the extra environment `env`, killing it
/// after `limit` (a hang fails the test); returns the exit code and stdout + stderr. Checks
/// that it neither panicked nor printed a C++ backtrace, whatever it was asked.
pub fn run_limited<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(
    args: &[S],
    env: &[(&str, &str)],
    limit: Duration,
) -> (Option<i32>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_convkit"));
    command
        .args(args)
        .env_remove("LD_LIBRARY_PATH")
        .env("CONVKIT_DEVICE", "cpu")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{args:?} still running after {limit:?} (a hang): {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains("panicked"), "{args:?} panicked: {text}");
    assert!(
        !text.contains("frame #") && !text.contains("Exception raised from"),
        "{args:?} printed a C++ backtrace: {text}"
    );
    (out.status.code(), text)
}

/// Runs `scripts/fixtures/SCRIPT OUTDIR --only ONLY` with the venv's Python
/// (`KERAS_BACKEND=torch`) into `target/tmp/DIR` and returns that folder; one export at a
/// time (the tests run in parallel and ask for the same files, which the scripts skip when
/// present).
pub fn export_fixtures(script: &str, dir: &str, only: &str) -> PathBuf {
    static EXPORT: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = EXPORT.lock().unwrap_or_else(|e| e.into_inner());
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(dir);
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scripts/fixtures")
        .join(script);
    let status = Command::new(venv().join("bin/python"))
        .arg(&script)
        .arg(&out)
        .args(["--only", only])
        .env("KERAS_BACKEND", "torch")
        .status()
        .expect("the venv's python (scripts/test installs keras)");
    assert!(status.success(), "{} failed", script.display());
    out
}

/// What the Python `snippet` prints, run by the venv's Python with `args`; panics with its
/// standard error when it fails.
pub fn python_output<S: AsRef<std::ffi::OsStr>>(snippet: &str, args: &[S]) -> String {
    let out = std::process::Command::new(venv().join("bin/python"))
        .args(["-c", snippet])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
