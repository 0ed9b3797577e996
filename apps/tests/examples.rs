//! The Cargo examples build with the workspace (`cargo test` builds them), and the MNIST one
//! runs on a slice of real MNIST: it trains, evaluates, saves, loads and predicts.

use std::path::PathBuf;
use std::process::Command;

fn example(name: &str) -> PathBuf {
    // `cargo test` builds the examples next to the test binaries: target/<profile>/examples.
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|d| d.parent()).unwrap();
    profile_dir.join("examples").join(name)
}

fn mnist_dir() -> PathBuf {
    let data = std::env::var_os("CONVKIT_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../datasets"));
    data.join("mnist")
}

#[test]
fn the_mnist_example_trains_evaluates_saves_and_predicts() {
    let exe = example("mnist_convnet");
    assert!(
        exe.is_file(),
        "{} was not built: `cargo test` builds the examples unless a --test target is selected \
         (then run `cargo build --release --examples` first)",
        exe.display()
    );
    let out = Command::new(&exe)
        .args([mnist_dir().to_str().unwrap(), "10000", "2"])
        .env("CONVKIT_THREADS", "2")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("Total params"), "no summary: {stdout}");
    let accuracy: f64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("test accuracy: "))
        .unwrap_or_else(|| panic!("no test accuracy: {stdout}"))
        .trim()
        .parse()
        .unwrap();
    // Two epochs on 10,000 images (8,000 trained on) reach about 0.96 (0.958 measured).
    assert!(accuracy > 0.9, "test accuracy {accuracy}");
    assert!(
        stdout.contains("first ten test digits predicted as ["),
        "{stdout}"
    );
}

#[test]
fn every_example_is_built() {
    for name in [
        "mnist_convnet",
        "image_folder_augmentation",
        "residual_network",
        "pretrained_base",
        "gradcam_activations",
    ] {
        assert!(example(name).is_file(), "example {name} was not built");
    }
}
