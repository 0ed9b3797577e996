//! `convkit train` on users' own folders, and `convkit predict` on what it saves: the layouts,
//! class names with spaces, dots and non-ASCII letters, binary and softmax tops, the output
//! files, class weights, background removal at prediction, continued training, TensorBoard's
//! event files, and class names in gradcam and activations. The bad inputs of issue 14 item
//! 10 are in `cli_train_bad_input.rs`.

mod common;

use common::class_folders::{images, quick, train, tree, LIMIT, ODD_NAMES};
use common::run_limited;
use convkit::classifier_info::ClassifierInfo;
use convkit_augment::ops::BackgroundRemoval;
use convkit_data::image_folder::{ColorMode, ImageDecoder, ResizeFilter};
use convkit_layers::prelude::*;
use convkit_tensor::tch::{Device, Kind, Tensor};

#[test]
fn one_tree_with_odd_class_names_trains_reports_and_predicts_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tree(&tmp.path().join("data"), &ODD_NAMES);
    let out = tmp.path().join("out");
    let (d, o) = (dir.to_str().unwrap(), out.to_str().unwrap());
    let (code, text) = train(&quick(d, o));
    assert_eq!(code, Some(0), "{text}");
    // 12 per class: round(0.2 * 12) = 2 to validation and 2 to test, 8 to training.
    assert!(
        text.contains("Found 24 images belonging to 3 classes. (training)"),
        "{text}"
    );
    assert!(
        text.contains("Found 6 images belonging to 3 classes. (validation)"),
        "{text}"
    );
    assert!(
        text.contains("Found 6 images belonging to 3 classes. (test)"),
        "{text}"
    );
    assert!(
        text.contains("precision    recall  f1-score   support"),
        "{text}"
    );
    for f in [
        "model/model.json",
        "model/info.json",
        "history.json",
        "metrics.json",
        "report.json",
        "split.json",
        "curves.png",
        "confusion.png",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let info = ClassifierInfo::load(&out.join("model")).unwrap().unwrap();
    assert_eq!(info.class_names, ["a b", "x.y", "épicéa"]);
    assert_eq!(info.label_mode, "sparse");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["épicéa"]["support"], 2.0);
    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("metrics.json")).unwrap()).unwrap();
    assert!(metrics["test_accuracy"].as_f64().unwrap() >= 0.0);
    assert!(
        metrics.get("test_top_5_accuracy").is_none(),
        "3 classes: no top-5"
    );
    let split: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("split.json")).unwrap()).unwrap();
    assert_eq!(split["test"].as_array().unwrap().len(), 6);

    // The same seed gives the same split; another seed another.
    let again = tmp.path().join("again");
    let (code, text) = train(&quick(d, again.to_str().unwrap()));
    assert_eq!(code, Some(0), "{text}");
    let split2: serde_json::Value =
        serde_json::from_slice(&std::fs::read(again.join("split.json")).unwrap()).unwrap();
    assert_eq!(split["test"], split2["test"]);

    // predict: names, --json with raw outputs, --csv over a folder.
    let json = tmp.path().join("p.json");
    let csv = tmp.path().join("p.csv");
    let folder = dir.join("x.y");
    let (code, text) = run_limited(
        &[
            "predict",
            "--model",
            o,
            "--top",
            "2",
            "--json",
            json.to_str().unwrap(),
            "--csv",
            csv.to_str().unwrap(),
            "--csv-label",
            "species",
            folder.to_str().unwrap(),
        ],
        &[],
        LIMIT,
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("épicéa (2)") || text.contains("x.y (1)"),
        "{text}"
    );
    let rows: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 12);
    assert_eq!(rows[0]["output"].as_array().unwrap().len(), 3);
    assert_eq!(rows[0]["top"].as_array().unwrap().len(), 2);
    let sum: f64 = rows[0]["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .sum();
    assert!((sum - 1.0).abs() < 1e-5, "softmax outputs sum to 1: {sum}");
    let csv = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "file,species");
    assert_eq!(lines.len(), 13);
    assert!(lines[1].starts_with("img 0.png,"), "{csv}");
    let best = rows[0]["top"][0]["class"].as_str().unwrap();
    assert_eq!(lines[1], format!("img 0.png,{best}"));
}

#[test]
fn split_folders_with_two_classes_train_a_sigmoid_unit() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    for (split, n) in [("train", 10), ("validation", 4), ("test", 4)] {
        images(&root.join(split).join("cat"), [180, 120, 60], n, 1);
        images(&root.join(split).join("dog"), [60, 120, 180], n, 2);
    }
    let out = tmp.path().join("out");
    let (code, text) = train(&quick(root.to_str().unwrap(), out.to_str().unwrap()));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("Using the split folders"), "{text}");
    assert!(
        text.contains("Found 20 images belonging to 2 classes. (training)"),
        "{text}"
    );
    assert!(text.contains("(None, 1)"), "one sigmoid unit: {text}");
    let info = ClassifierInfo::load(&out.join("model")).unwrap().unwrap();
    assert_eq!(info.label_mode, "binary");
    let (code, text) = run_limited(
        &[
            "predict",
            "--model",
            out.to_str().unwrap(),
            root.join("test/dog/img 0.png").to_str().unwrap(),
        ],
        &[],
        LIMIT,
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("dog (1)") && text.contains("cat (0)"),
        "{text}"
    );
    // --label-mode categorical gives two softmax units instead.
    let cat = tmp.path().join("categorical");
    let mut args = quick(root.to_str().unwrap(), cat.to_str().unwrap());
    args.extend(["--label-mode", "categorical"]);
    let (code, text) = train(&args);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("(None, 2)"), "{text}");
}

#[test]
fn class_weights_and_continued_training() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tree(
        &tmp.path().join("data"),
        &[("big", [200, 30, 30], 30), ("small", [30, 200, 30], 10)],
    );
    let out = tmp.path().join("out");
    let (d, o) = (dir.to_str().unwrap(), out.to_str().unwrap());
    let mut args = quick(d, o);
    args.extend(["--class-weight", "balanced"]);
    let (code, text) = train(&args);
    assert_eq!(code, Some(0), "{text}");
    // 18 + 6 training images: 24 / (2 * 18) and 24 / (2 * 6).
    assert!(
        text.contains("Class weights: big 0.667, small 2.000"),
        "{text}"
    );
    let mut args = quick(d, o);
    args.extend(["--class-weight", "1,2,3"]);
    let (code, text) = train(&args);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("one weight per class (2: big, small), got 3"),
        "{text}"
    );

    // Continue training the saved model on the same classes.
    let more = tmp.path().join("more");
    let (code, text) = train(&[
        d,
        "--out",
        more.to_str().unwrap(),
        "--model",
        o,
        "--epochs",
        "1",
        "--loader-threads",
        "1",
    ]);
    assert_eq!(code, Some(0), "{text}");
    assert!(more.join("model/info.json").is_file());
}

#[test]
fn background_removal_is_recorded_and_applied_at_prediction() {
    let tmp = tempfile::tempdir().unwrap();
    // Leaf green near (60, 110, 40) kept; the brown soil blacked out.
    let dir = tree(
        &tmp.path().join("data"),
        &[("leaf", [50, 100, 30], 10), ("soil", [120, 80, 50], 10)],
    );
    let out = tmp.path().join("out");
    let mut args = quick(dir.to_str().unwrap(), out.to_str().unwrap());
    args.push("--background-removal");
    let (code, text) = train(&args);
    assert_eq!(code, Some(0), "{text}");
    let info = ClassifierInfo::load(&out.join("model")).unwrap().unwrap();
    assert!(info.background_removal);
    let image = dir.join("soil/img 0.png");
    let json = tmp.path().join("p.json");
    let (code, text) = run_limited(
        &[
            "predict",
            "--model",
            out.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
            image.to_str().unwrap(),
        ],
        &[],
        LIMIT,
    );
    assert_eq!(code, Some(0), "{text}");
    let rows: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let predicted = rows[0]["output"][0].as_f64().unwrap();

    // What the model gives on the masked image, computed here from the parts.
    let decoder = ImageDecoder {
        target_size: (32, 32),
        color_mode: ColorMode::Rgb,
        filter: ResizeFilter::Bilinear,
        max_pixels: 1 << 30,
        dct_scaling: false,
    };
    let masked = BackgroundRemoval::plant_greens().apply(decoder.load(&image).unwrap());
    let x = Tensor::from_slice(masked.data())
        .view([32, 32, 3])
        .permute([2, 0, 1])
        .unsqueeze(0)
        .to_kind(Kind::Float)
        / 255.0;
    let model = load_model(&out.join("model"), Device::Cpu).unwrap();
    let expected = model.predict(&x, 1).unwrap().double_value(&[0, 0]);
    assert!(
        (predicted - expected).abs() < 1e-5,
        "predict {predicted} vs the model on the masked image {expected}"
    );
    let unmasked = Tensor::from_slice(decoder.load(&image).unwrap().data())
        .view([32, 32, 3])
        .permute([2, 0, 1])
        .unsqueeze(0)
        .to_kind(Kind::Float)
        / 255.0;
    let without = model.predict(&unmasked, 1).unwrap().double_value(&[0, 0]);
    assert!(
        (predicted - without).abs() > 1e-4,
        "the mask must change the prediction for this test to mean anything"
    );
}

#[test]
fn tensorboard_reads_the_event_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tree(&tmp.path().join("data"), &ODD_NAMES);
    let out = tmp.path().join("out");
    let logs = tmp.path().join("logs");
    let mut args = quick(dir.to_str().unwrap(), out.to_str().unwrap());
    args.extend([
        "--tensorboard",
        logs.to_str().unwrap(),
        "--tensorboard-freq",
        "1",
    ]);
    let (code, text) = train(&args);
    assert_eq!(code, Some(0), "{text}");
    // TensorBoard's own reader (the PyPI package `tensorboard`), against history.json.
    let script = r#"
import json, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
logs, history = sys.argv[1], json.load(open(sys.argv[2]))
def run(name):
    ea = EventAccumulator(f"{logs}/{name}", size_guidance={"scalars": 0, "images": 0})
    ea.Reload()
    return ea
train, val = run("train"), run("validation")
for ea, prefix, tags in [(train, "", ["loss", "accuracy", "learning_rate"]),
                         (val, "val_", ["loss", "accuracy"])]:
    for t in tags:
        got = [(e.step, e.value) for e in ea.Scalars(f"epoch_{t}")]
        want = history[prefix + t]
        assert [s for s, _ in got] == list(range(len(want))), (t, got)
        assert all(abs(g - w) <= 1e-6 * max(1.0, abs(w)) for (_, g), w in zip(got, want)), (t, got, want)
steps = [e.step for e in train.Scalars("batch_loss")]
assert steps == list(range(1, len(steps) + 1)) and len(steps) == 6, steps
images = val.Images("confusion_matrix")
assert [i.step for i in images] == [0, 1], images
assert images[0].encoded_image_string[:8] == b"\x89PNG\r\n\x1a\n"
print("tensorboard ok", len(steps), "batch steps")
"#;
    let py = common::venv().join("bin/python");
    let result = std::process::Command::new(py)
        .args(["-c", script, logs.to_str().unwrap()])
        .arg(out.join("history.json"))
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(result.status.success(), "{said}");
    assert!(said.contains("tensorboard ok"), "{said}");
}

#[test]
fn gradcam_and_activations_name_the_classes_of_a_trained_convnet() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tree(&tmp.path().join("data"), &ODD_NAMES);
    let out = tmp.path().join("out");
    let (code, text) = train(&[
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--model",
        "small-convnet",
        "--size",
        "48",
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--loader-threads",
        "1",
    ]);
    assert_eq!(code, Some(0), "{text}");
    let image = dir.join("x.y/img 0.png");
    let pictures = tmp.path().join("pictures");
    for command in ["gradcam", "activations"] {
        let (code, text) = run_limited(
            &[
                command,
                "--model",
                out.to_str().unwrap(),
                "--out",
                pictures.join(command).to_str().unwrap(),
                image.to_str().unwrap(),
            ],
            &[],
            LIMIT,
        );
        assert_eq!(code, Some(0), "{command}: {text}");
        let named = ["a b", "x.y", "épicéa"]
            .iter()
            .filter(|n| text.contains(&format!("{n} ")))
            .count();
        assert!(named >= 2, "{command} names the classes: {text}");
    }
}
