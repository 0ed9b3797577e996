//! The transfer-learning and segmentation commands end to end on small inputs: `predict`,
//! `features`, `finetune` (EfficientNet-Lite0's real ImageNet weights from the project venv,
//! which scripts/test installs), `plants` and `train` on their stand-ins, and `segment`
//! (synthetic MNIST and backgrounds), plus their bad-input errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use convkit_data::idx::encode_u8;

mod common;
use common::{skimage_photos, venv};

const BIN: &str = env!("CARGO_BIN_EXE_convkit");

/// A data directory with a small deterministic MNIST and three background PNGs.
fn data_dir(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    let mnist = data.join("mnist");
    std::fs::create_dir_all(&mnist).unwrap();
    let mut state: u32 = 7;
    let mut next = move || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 24) as u8
    };
    for (prefix, n) in [("train", 600u32), ("t10k", 10)] {
        // Labels cycle 0..9 so every digit has n / 10 images; pixels are a bright bar.
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let images: Vec<u8> = (0..n * 784)
            .map(|i| {
                let (r, c) = ((i % 784) / 28, i % 28);
                if (8..20).contains(&c) && (4..24).contains(&r) {
                    200 + next() % 55
                } else {
                    0
                }
            })
            .collect();
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
    let bg = data.join("backgrounds");
    std::fs::create_dir_all(&bg).unwrap();
    for k in 0..3u32 {
        let img = image::RgbImage::from_fn(128, 128, |x, y| {
            image::Rgb([(x * 2 + k * 40) as u8, (y * 2) as u8, ((x + y) % 256) as u8])
        });
        img.save(bg.join(format!("bg{k}.png"))).unwrap();
    }
    data
}

fn run(args: &[&str], data: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env("CONVKIT_VENV", venv())
        .env("CONVKIT_THREADS", "2")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn segment_trains_scores_and_writes_masks() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data_dir(tmp.path());
    let out = tmp.path().join("seg");
    let o = run(
        &[
            "segment",
            "--scenes",
            "48",
            "--held-out",
            "8",
            "--size",
            "32",
            "--epochs",
            "2",
            "--batch-size",
            "8",
            "--write-masks",
            "4",
            "--out",
            out.to_str().unwrap(),
        ],
        &data,
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("No --data given") && t.contains("mean IoU"),
        "{t}"
    );
    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("metrics.json")).unwrap()).unwrap();
    let iou = metrics["mean_iou"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&iou), "{metrics}");
    let masks: Vec<_> = std::fs::read_dir(out.join("masks")).unwrap().collect();
    assert_eq!(
        masks.len(),
        4 * 3 + 1,
        "image, true and predicted mask per image, plus the overview"
    );
    let overview = image::open(out.join("masks/overview.png")).unwrap();
    assert!(overview.width() > 32 * 6);
    assert!(out.join("best_model/model.json").is_file());
}

#[test]
fn segment_refuses_bad_trimaps_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("pets");
    std::fs::create_dir_all(root.join("images")).unwrap();
    std::fs::create_dir_all(root.join("annotations/trimaps")).unwrap();
    // cat_1's trimap holds 7, outside 1..=3; cat_2's is valid.
    for (name, trimap) in [("cat_1", 7), ("cat_2", 1)] {
        let image_path = root.join(format!("images/{name}.jpg"));
        image::RgbImage::new(16, 16).save(image_path).unwrap();
        let mask_path = root.join(format!("annotations/trimaps/{name}.png"));
        let mask = image::GrayImage::from_pixel(16, 16, image::Luma([trimap]));
        mask.save(mask_path).unwrap();
    }
    let o = run(
        &[
            "segment",
            "--data",
            root.to_str().unwrap(),
            "--held-out",
            "1",
            "--out",
            tmp.path().join("o").to_str().unwrap(),
        ],
        tmp.path(),
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("cat_1.png") && t.contains("trimap value 7"),
        "{t}"
    );
}

#[test]
fn predict_names_the_cat_and_refuses_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = skimage_photos();
    let chelsea = photos.join("chelsea.png");
    let o = run(
        &[
            "predict",
            "--model",
            "efficientnet-lite0",
            "--top",
            "2",
            chelsea.to_str().unwrap(),
        ],
        tmp.path(),
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("Egyptian cat"), "{t}");

    let o = run(
        &["predict", "--model", "resnet18", chelsea.to_str().unwrap()],
        tmp.path(),
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("efficientnet-lite0, vgg16, xception or resnet50"),
        "{t}"
    );

    let notes = tmp.path().join("notes.png");
    std::fs::write(&notes, b"not an image").unwrap();
    let o = run(
        &[
            "predict",
            "--model",
            "efficientnet-lite0",
            notes.to_str().unwrap(),
        ],
        tmp.path(),
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("notes.png") && t.contains("not an image (unrecognised file signature)"),
        "{t}"
    );

    let o = run(
        &["predict", "--model", "vgg16", chelsea.to_str().unwrap()],
        tmp.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "vgg16 without --weights: {}",
        text(&o)
    );
}

#[test]
fn features_and_finetune_run_on_the_offline_stand_in() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data_dir(tmp.path());
    let out = tmp.path().join("features");
    let o = run(
        &[
            "features",
            "--per-class",
            "8,6,6",
            "--size",
            "64",
            "--epochs",
            "2",
            "--out",
            out.to_str().unwrap(),
        ],
        &data,
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("extracted features [1280]"), "{t}");
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("metrics.json")).unwrap()).unwrap();
    assert!(m["test_accuracy"].as_f64().unwrap() >= 0.0, "{m}");
    // A second run reuses the cache.
    let o = run(
        &[
            "features",
            "--per-class",
            "8,6,6",
            "--size",
            "64",
            "--epochs",
            "1",
            "--out",
            out.to_str().unwrap(),
        ],
        &data,
    );
    assert!(
        text(&o).contains("reusing 16 cached features"),
        "{}",
        text(&o)
    );

    let out = tmp.path().join("finetune");
    let o = run(
        &[
            "finetune",
            "--per-class",
            "8,6,6",
            "--size",
            "64",
            "--epochs",
            "1",
            "--finetune-epochs",
            "1",
            "--batch-size",
            "8",
            "--out",
            out.to_str().unwrap(),
        ],
        &data,
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("Unfroze") && t.contains("block7a_expand_conv"),
        "{t}"
    );
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(m["phases"].as_array().unwrap().len(), 2, "{m}");
}

#[test]
fn plants_runs_the_chapter_on_its_stand_in() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data_dir(tmp.path());
    let out = tmp.path().join("plants");
    let o = run(
        &[
            "plants",
            "--stand-in-per-class",
            "20",
            "--validation-per-class",
            "4",
            "--size",
            "32",
            "--epochs",
            "1",
            "--augmented-epochs",
            "1",
            "--out",
            out.to_str().unwrap(),
        ],
        &data,
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("No --data given"), "{t}");
    assert!(
        t.contains("VGG16 base (frozen) + Flatten + Dense(10) at 32x32"),
        "{t}"
    );
    assert!(
        t.contains("Found 160 images belonging to 10 classes. (training)"),
        "{t}"
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let runs = summary["runs"].as_array().unwrap();
    let names: Vec<&str> = runs.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "logistic",
            "pretrained_imgaug",
            "pretrained_features",
            "background_removal"
        ]
    );
    let acc = summary["submission"]["stand_in_test_accuracy"]
        .as_f64()
        .unwrap();
    assert!((0.0..=1.0).contains(&acc), "{summary}");
    let csv = std::fs::read_to_string(out.join("submission.csv")).unwrap();
    assert_eq!(csv.lines().next(), Some("file,species"));
    assert_eq!(csv.lines().count(), 1 + 10 * 30, "one row per test image");
    // Background removal is recorded with its model.
    let info = std::fs::read_to_string(out.join("background_removal/model/info.json")).unwrap();
    assert!(info.contains("\"background_removal\": true"), "{info}");
    // The validation images were linked, the stand-in's files stay where they were.
    let split = out.join("data/validation/zero");
    assert_eq!(std::fs::read_dir(split).unwrap().count(), 4);
    assert!(data
        .join("plants-stand-in-20/train/zero/zero.0.png")
        .is_file());
}

#[test]
fn train_without_a_folder_uses_the_ten_class_stand_in() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data_dir(tmp.path());
    let out = tmp.path().join("train");
    let o = run(
        &[
            "train",
            "--stand-in-per-class",
            "20",
            "--epochs",
            "1",
            "--out",
            out.to_str().unwrap(),
        ],
        &data,
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("No DIR given: this run uses an offline stand-in with ten classes"),
        "{t}"
    );
    assert!(
        t.contains("Found 120 images belonging to 10 classes. (training)"),
        "{t}"
    );
    assert!(
        t.contains("sparse_top_k_categorical_accuracy"),
        "top-5 with ten classes: {t}"
    );
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("metrics.json")).unwrap()).unwrap();
    assert!(m["test_top_5_accuracy"].as_f64().is_some(), "{m}");
    assert!(
        out.join("misclassified.png").is_file() || t.contains("No test image is misclassified")
    );
}
