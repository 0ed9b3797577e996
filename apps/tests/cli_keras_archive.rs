//! The commands on a Keras 3 `.keras` file: `convkit predict --model FILE.keras` gives Keras'
//! own prediction for the same picture, and `gradcam`, `activations` and `filters` draw from
//! it. The
//! archive is the book's MNIST convnet trained one epoch by Keras
//! (`scripts/fixtures/export_keras_archives.py`, which `layers/tests/keras_archive_import.rs`
//! checks against Keras); the picture is its fixed input quantized to 8-bit gray, and Keras'
//! prediction on exactly those pixels (`/ 255`) comes from the snippet in `keras_predict`.
//!
//! And the way back: `convkit train --model FILE.keras` trains the book's cats-vs-dogs
//! convnet Keras saved (with its optimizer state) on a folder, `convkit export --keras` writes
//! the result, and Keras loads that file and predicts what `convkit predict` says
//! (`keras_reads_export`) and scores as `convkit evaluate` does (`keras_evaluates`).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{python_output, run_limited};

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
    python_output(SNIPPET, &[model, io, png])
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

    // Filter ascent on the archive's second convolution: the objective rises.
    let filters = tmp.path().join("filters");
    let (code, text) = run_limited(
        &[
            "filters",
            "--model",
            m,
            "--layer",
            "conv2d_1",
            "--count",
            "4",
            "--steps",
            "5",
            "--out",
            filters.to_str().unwrap(),
        ],
        &[("CONVKIT_THREADS", "1")],
        LIMIT,
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(filters.join("filters_conv2d_1.png").is_file(), "{text}");
    let objective: Vec<f64> = text
        .lines()
        .find_map(|l| l.split_once("mean objective ").map(|(_, r)| r.to_string()))
        .unwrap_or_else(|| panic!("no objective line: {text}"))
        .split(' ')
        .filter_map(|w| w.parse().ok())
        .collect();
    assert!(
        objective.len() >= 2 && objective[1] > objective[0],
        "{text}"
    );
}

/// Keras' prediction of the `.keras` file `model` on the RGB picture `png` (pixels as they are:
/// the model rescales them) and its optimizer's iteration count.
fn keras_reads_export(model: &Path, png: &Path) -> (Vec<f64>, i64) {
    const SNIPPET: &str = r#"
import os, sys
os.environ["KERAS_BACKEND"] = "torch"
import keras, numpy as np
from PIL import Image
m = keras.models.load_model(sys.argv[1])
x = np.asarray(Image.open(sys.argv[2]).convert("RGB"), dtype="float32")[None]
p = m.predict(x, verbose=0)[0]
print(" ".join(repr(float(v)) for v in p))
print(int(keras.ops.convert_to_numpy(m.optimizer.iterations)))
"#;
    let text = python_output(SNIPPET, &[model, png]);
    let mut lines = text.lines();
    let pred = lines
        .next()
        .unwrap()
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    (pred, lines.next().unwrap().trim().parse().unwrap())
}

/// Keras' `model.evaluate` of the `.keras` file `model` on the class subfolders of `data`
/// (sorted; RGB pixels as they are): its loss and accuracy.
fn keras_evaluates(model: &Path, data: &Path) -> serde_json::Value {
    const SNIPPET: &str = r#"
import json, os, sys
os.environ["KERAS_BACKEND"] = "torch"
import keras, numpy as np
from PIL import Image
m = keras.models.load_model(sys.argv[1])
xs, ys = [], []
for label, cls in enumerate(sorted(os.listdir(sys.argv[2]))):
    for f in sorted(os.listdir(os.path.join(sys.argv[2], cls))):
        xs.append(np.asarray(Image.open(os.path.join(sys.argv[2], cls, f)).convert("RGB"), dtype="float32"))
        ys.append(label)
r = m.evaluate(np.stack(xs), np.array(ys, dtype="float32")[:, None], batch_size=32, verbose=0, return_dict=True)
print(json.dumps({k: float(v) for k, v in r.items()}))
"#;
    serde_json::from_str(&python_output(SNIPPET, &[model, data])).unwrap()
}

fn outputs(json: &Path) -> Vec<Vec<f64>> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row["output"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect()
}

/// Runs `convkit ARGS` on one thread; its output, after checking it succeeded.
fn ok(args: &[&str]) -> String {
    let (code, text) = run_limited(args, &[("CONVKIT_THREADS", "1")], LIMIT);
    assert_eq!(code, Some(0), "convkit {args:?}: {text}");
    text
}

#[test]
fn a_keras_model_trains_on_a_folder_and_goes_back_to_keras() {
    let dir = common::export_fixtures("export_keras_archives.py", "keras-archives", "cats_convnet");
    let keras_file = dir.join("cats_convnet.keras");
    let tmp = tempfile::tempdir().unwrap();
    // 180x180 pictures, the model's size: no resizing, so Keras sees the same pixels.
    let data = common::class_folders::cats_and_dogs(&tmp.path().join("data"), 180);
    let run = tmp.path().join("run");
    ok(&[
        "train",
        data.to_str().unwrap(),
        "--model",
        keras_file.to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
        "--epochs",
        "1",
        "--batch-size",
        "4",
        "--loader-threads",
        "1",
    ]);
    let info = convkit::classifier_info::ClassifierInfo::load(&run.join("model"))
        .unwrap()
        .unwrap();
    assert_eq!(info.class_names, ["cat", "dog"]);
    assert_eq!(info.label_mode, "binary", "one sigmoid unit");
    assert_eq!(info.image_size, [180, 180]);
    // 10 per class: 2 to validation, 2 to test, 12 to training: 3 steps of 4.
    let steps = 3;

    let exported = tmp.path().join("cats.keras");
    let weights = tmp.path().join("cats_weights.h5");
    ok(&[
        "export",
        "--model",
        run.to_str().unwrap(),
        "--keras",
        exported.to_str().unwrap(),
        "--h5",
        weights.to_str().unwrap(),
    ]);

    let picture = data.join("dog").join("0.png");
    let mut by_convkit = Vec::new();
    for model in [&run, &exported] {
        let json = tmp.path().join("p.json");
        let text = ok(&[
            "predict",
            "--model",
            model.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
            picture.to_str().unwrap(),
        ]);
        assert!(
            text.contains("dog (1)"),
            "class names travel in the archive: {text}"
        );
        by_convkit.push(outputs(&json).remove(0));
    }
    assert_eq!(
        by_convkit[0], by_convkit[1],
        "the run and its export predict alike"
    );

    let (by_keras, iterations) = keras_reads_export(&exported, &picture);
    let (before, _) = keras_reads_export(&keras_file, &picture);
    assert_ne!(before, by_keras, "the exported model is the trained one");
    let io = dir.join("cats_convnet_io.safetensors");
    let keras_steps = convkit_tensor::tch::Tensor::read_safetensors(&io)
        .unwrap()
        .into_iter()
        .find(|(n, _)| n == "opt_0")
        .map(|(_, t)| t.int64_value(&[0]))
        .unwrap();
    assert_eq!(
        iterations,
        keras_steps + steps,
        "Keras' optimizer state continued by convkit's steps"
    );
    // The weights alone, legacy HDF5 and Keras 3's `.weights.h5`: the same network from its
    // configuration, freshly initialised, then Keras' `load_weights`.
    const FROM_WEIGHTS: &str = r#"
import os, sys
os.environ["KERAS_BACKEND"] = "torch"
import keras, numpy as np
from PIL import Image
m = keras.models.model_from_json(keras.models.load_model(sys.argv[1]).to_json())
m.load_weights(sys.argv[2])
x = np.asarray(Image.open(sys.argv[3]).convert("RGB"), dtype="float32")[None]
print(repr(float(m.predict(x, verbose=0)[0][0])))
"#;
    let weights3 = tmp.path().join("cats.weights.h5");
    ok(&[
        "export",
        "--model",
        run.to_str().unwrap(),
        "--h5",
        weights3.to_str().unwrap(),
    ]);
    for file in [&weights, &weights3] {
        let from_h5: f64 = python_output(FROM_WEIGHTS, &[&exported, file, &picture])
            .trim()
            .parse()
            .unwrap();
        assert!(
            (from_h5 - by_keras[0]).abs() <= 1e-6 + 1e-5 * by_keras[0].abs(),
            "Keras from {} {from_h5}, from the .keras file {}",
            file.display(),
            by_keras[0]
        );
    }

    // evaluate: the run and its export score alike, as Keras scores the export.
    let mut scores = Vec::new();
    for model in [&run, &exported] {
        let json = tmp.path().join("e.json");
        ok(&[
            "evaluate",
            "--model",
            model.to_str().unwrap(),
            data.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ]);
        scores.push(
            serde_json::from_slice::<serde_json::Value>(&std::fs::read(&json).unwrap()).unwrap(),
        );
    }
    assert_eq!(scores[0], scores[1]);
    let keras = keras_evaluates(&exported, &data);
    for key in ["loss", "accuracy"] {
        let (got, want) = (
            scores[1][key].as_f64().unwrap(),
            keras[key].as_f64().unwrap(),
        );
        assert!(
            (got - want).abs() <= 1e-6 + 1e-5 * want.abs(),
            "{key}: convkit {got}, Keras {want}"
        );
    }
    assert_eq!(scores[1]["samples"], 20);
    assert_eq!(by_keras.len(), 1);
    let (got, want) = (by_convkit[1][0], by_keras[0]);
    assert!(
        (got - want).abs() <= 1e-6 + 1e-5 * want.abs(),
        "convkit {got}, Keras {want}"
    );
}
