//! The commands on a Keras 3 `.keras` file: `convkit predict --model FILE.keras` gives Keras'
//! own prediction for the same picture, and `gradcam` and `activations` draw from it. The
//! archive is the book's MNIST convnet trained one epoch by Keras
//! (`scripts/fixtures/export_keras_archives.py`, which `layers/tests/keras_archive_import.rs`
//! checks against Keras); the picture is its fixed input quantized to 8-bit gray, and Keras'
//! prediction on exactly those pixels (`/ 255`) comes from the snippet in `keras_predict`.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{run_limited, venv};

const LIMIT: Duration = Duration::from_secs(300);

fn exported() -> PathBuf {
    common::export_fixtures(
        "export_keras_archives.py",
        "keras-archives",
        "mnist_convnet",
    )
}

/// Writes the fixture's input as an 8-bit gray PNG at `png` and returns Keras' prediction on
/// those pixels divided by 255.
fn keras_predict(model: &Path, io: &Path, png: &Path) -> Vec<f64> {
    const SNIPPET: &str = r#"
import os, sys
os.environ["KERAS_BACKEND"] = "torch"
import keras, numpy as np
from PIL import Image
from safetensors.numpy import load_file
x = load_file(sys.argv[2])["x_0"][0, 0]
img = (x * 255).round().astype("uint8")
Image.fromarray(img, "L").save(sys.argv[3])
m = keras.models.load_model(sys.argv[1])
p = m.predict((img.astype("float32") / 255)[None, :, :, None], verbose=0)[0]
print(" ".join(repr(float(v)) for v in p))
"#;
    let out = std::process::Command::new(venv().join("bin/python"))
        .args(["-c", SNIPPET])
        .args([model, io, png])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect()
}

#[test]
fn commands_take_a_keras_archive() {
    let dir = exported();
    let model = dir.join("mnist_convnet.keras");
    let tmp = tempfile::tempdir().unwrap();
    let png = tmp.path().join("digit.png");
    let expected = keras_predict(&model, &dir.join("mnist_convnet_io.safetensors"), &png);
    assert_eq!(expected.len(), 10);

    let json = tmp.path().join("out.json");
    let m = model.to_str().unwrap();
    let (code, text) = run_limited(
        &[
            "predict",
            "--model",
            m,
            "--json",
            json.to_str().unwrap(),
            png.to_str().unwrap(),
        ],
        &[("CONVKIT_THREADS", "1")],
        LIMIT,
    );
    assert_eq!(code, Some(0), "{text}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let output: Vec<f64> = v[0]["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(output.len(), 10);
    for (i, (got, want)) in output.iter().zip(&expected).enumerate() {
        assert!(
            (got - want).abs() <= 1e-6 + 1e-5 * want.abs(),
            "class {i}: convkit {got}, Keras {want}"
        );
    }

    let cam = tmp.path().join("cam");
    let (code, text) = run_limited(
        &[
            "gradcam",
            "--model",
            m,
            "--out",
            cam.to_str().unwrap(),
            png.to_str().unwrap(),
        ],
        &[("CONVKIT_THREADS", "1")],
        LIMIT,
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("layer conv2d_2"),
        "the last convolution: {text}"
    );
    assert!(cam.join("digit_gradcam.png").is_file(), "{text}");

    let act = tmp.path().join("act");
    let (code, text) = run_limited(
        &[
            "activations",
            "--model",
            m,
            "--out",
            act.to_str().unwrap(),
            png.to_str().unwrap(),
        ],
        &[("CONVKIT_THREADS", "1")],
        LIMIT,
    );
    assert_eq!(code, Some(0), "{text}");
    let pictures = std::fs::read_dir(&act).unwrap().count();
    assert!(
        pictures >= 3,
        "one grid per layer: {pictures} files\n{text}"
    );
}
