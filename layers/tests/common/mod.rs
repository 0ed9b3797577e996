//! Shared helpers of the training tests: a small learnable image problem.
#![allow(dead_code)]

use convkit_layers::prelude::*;
use convkit_tensor::tch::{Device, Kind, Tensor};

/// `n` gray 8x8 images of noise; label 1 brightens the top half, label 0 the bottom half.
/// Returns `(x, one-hot y (n, 2))`.
pub fn bright_top_dataset(n: i64) -> (Tensor, Tensor) {
    let label = Tensor::randint(2, [n], (Kind::Int64, Device::Cpu));
    let noise = Tensor::rand([n, 1, 8, 8], (Kind::Float, Device::Cpu)) * 0.6;
    let rows = Tensor::arange(8, (Kind::Float, Device::Cpu))
        .lt(4)
        .to_kind(Kind::Float)
        .view([1, 1, 8, 1]);
    let l = label.to_kind(Kind::Float).view([n, 1, 1, 1]);
    let top = &rows * &l + (1.0 - &rows) * (1.0 - &l);
    let x = noise + top * 0.4;
    let y = label.one_hot(2).to_kind(Kind::Float);
    (x, y)
}

/// A small convnet with dropout for the problem above.
pub fn small_convnet() -> Sequential {
    let mut m = Sequential::new();
    m.add(
        Conv2D::new(4, 3)
            .activation(Activation::Relu)
            .padding(Padding::Same)
            .input_shape([1, 8, 8]),
    )
    .unwrap();
    m.add(MaxPooling2D::new(2)).unwrap();
    m.add(Flatten::new()).unwrap();
    m.add(Dropout::new(0.25)).unwrap();
    m.add(Dense::new(2).activation(Activation::Softmax))
        .unwrap();
    m
}

/// Categorical crossentropy.
pub fn cce() -> Loss {
    Loss::CategoricalCrossentropy { from_logits: false }
}

/// The project venv's Python (`$CONVKIT_VENV` or `.venv` at the workspace root).
pub fn venv_python() -> std::path::PathBuf {
    let venv = std::env::var_os("CONVKIT_VENV")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join(".venv")
        });
    venv.join("bin").join("python")
}

/// A path printed by a Python snippet run in the project venv. Panics with the package to
/// install when the snippet fails (`scripts/test` installs the test packages).
pub fn python_path(snippet: &str, package: &str) -> std::path::PathBuf {
    let out = std::process::Command::new(venv_python())
        .args(["-c", snippet])
        .output()
        .unwrap_or_else(|e| panic!("cannot run the venv's python ({e}); run scripts/test"));
    assert!(
        out.status.success(),
        "this test needs the PyPI package {package} in the project venv (scripts/test installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Every tensor of a safetensors file, by name.
pub fn read_tensors(
    path: impl AsRef<std::path::Path>,
) -> std::collections::HashMap<String, Tensor> {
    Tensor::read_safetensors(path.as_ref())
        .unwrap_or_else(|e| panic!("{}: {e}", path.as_ref().display()))
        .into_iter()
        .collect()
}

/// Runs `scripts/fixtures/SCRIPT OUTDIR ARGS...` with the venv's Python (`KERAS_BACKEND=torch`)
/// into `target/tmp/DIR` and returns that folder. The scripts skip what is already there, and
/// one export runs at a time, so tests asking for the same files never write them twice.
pub fn export_fixtures(script: &str, dir: &str, args: &[&str]) -> std::path::PathBuf {
    static EXPORT: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = EXPORT.lock().unwrap_or_else(|e| e.into_inner());
    let out = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(dir);
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scripts/fixtures")
        .join(script);
    let status = std::process::Command::new(venv_python())
        .arg(&script)
        .arg(&out)
        .args(args)
        .env("KERAS_BACKEND", "torch")
        .status()
        .unwrap_or_else(|e| panic!("cannot run the venv's python ({e}); run scripts/test"));
    assert!(status.success(), "{} failed", script.display());
    out
}

/// Every element within 1e-5 relative or 1e-6 absolute of Keras'.
pub fn assert_close(actual: &Tensor, expected: &Tensor, what: &str) {
    assert_eq!(actual.size(), expected.size(), "{what}: shape");
    let a = actual.to_kind(Kind::Double);
    let b = expected.to_kind(Kind::Double);
    let diff = (&a - &b).abs();
    let allowed = (b.abs() * 1e-5).clamp_min(1e-6);
    let worst = f64::try_from((&diff - &allowed).max()).unwrap();
    eprintln!(
        "{what}: max |diff| {:.3e}, max |value| {:.3e}",
        f64::try_from(diff.max()).unwrap(),
        f64::try_from(b.abs().max()).unwrap()
    );
    assert!(
        worst <= 0.0,
        "{what}: an element is off by {worst:.3e} more than allowed"
    );
}

/// The legacy Keras HDF5 fixtures of `scripts/fixtures/export_keras_h5_models.py` for model
/// `only` (`vgg16`, `xception`, `resnet50`, `mnist_convnet`, `cats_convnet`), exported once.
pub fn keras_h5_fixtures(only: &str) -> std::path::PathBuf {
    export_fixtures(
        "export_keras_h5_models.py",
        "keras-h5-models",
        &["--only", only],
    )
}

/// An application without its top, average-pooled (the fixtures' `notop_avg`).
pub fn notop_avg() -> convkit_layers::applications::ApplicationConfig {
    convkit_layers::applications::ApplicationConfig {
        include_top: false,
        pooling: convkit_layers::applications::Pooling::Avg,
        ..Default::default()
    }
}

/// An application with its top, giving logits (the fixtures' `top`).
pub fn logits() -> convkit_layers::applications::ApplicationConfig {
    convkit_layers::applications::ApplicationConfig {
        classifier_activation: Activation::Linear,
        ..Default::default()
    }
}
