//! The picture commands end to end (`plot`, `activations`, `filters`, `gradcam`), from a model
//! trained by `convkit mnist` (real MNIST, a short run) and from the pretrained
//! EfficientNet-Lite0 (its real ImageNet weights from the project venv): every picture is
//! written as a PNG of the expected size that is not blank; bad input gives clear errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use convkit_tensor::tch::Kind;

mod common;
use common::{skimage_photos, venv};

const BIN: &str = env!("CARGO_BIN_EXE_convkit");

/// The datasets directory (`scripts/test` fetches MNIST into it).
fn data() -> PathBuf {
    std::env::var_os("CONVKIT_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets"))
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(data())
        .env("CONVKIT_VENV", venv())
        .env("CONVKIT_THREADS", "2")
        .output()
        .unwrap()
}

/// A command without the runtime flags (`plot`).
fn run_bare(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Opens a PNG, checks its size when given, and that it is not blank (many distinct colours).
fn picture(path: &Path, size: Option<(u32, u32)>) {
    picture_with(path, size, 8)
}

/// As [`picture`], with the least number of distinct colours (plots draw few, unblended).
fn picture_with(path: &Path, size: Option<(u32, u32)>, min_colours: usize) {
    let img = image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8();
    if let Some(s) = size {
        assert_eq!(img.dimensions(), s, "{}", path.display());
    }
    let mut colours: Vec<[u8; 3]> = img.pixels().map(|p| p.0).collect();
    colours.sort_unstable();
    colours.dedup();
    assert!(
        colours.len() >= min_colours,
        "{} is blank ({} colours)",
        path.display(),
        colours.len()
    );
}

/// MNIST test image 0 (a 7) as a PNG.
fn digit_png(dir: &Path) -> PathBuf {
    let mnist =
        convkit_data::Mnist::load(&data().join("mnist")).expect("scripts/test fetches MNIST");
    let bytes: Vec<u8> =
        Vec::try_from(mnist.test_images.get(0).to_kind(Kind::Uint8).flatten(0, -1)).unwrap();
    let path = dir.join("seven.png");
    image::GrayImage::from_raw(28, 28, bytes)
        .unwrap()
        .save(&path)
        .unwrap();
    path
}

#[test]
fn pictures_of_a_model_trained_by_convkit_mnist() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("mnist");
    let o = run(&[
        "mnist",
        "--epochs",
        "1",
        "--train-limit",
        "4000",
        "--test-limit",
        "500",
        "--out",
        model.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let m = model.to_str().unwrap();
    // The training command drew its curves and its test-set confusion matrix.
    // White, black, grey grid lines and the training dots' blue at least.
    picture_with(&model.join("curves.png"), Some((1120, 380)), 4);
    picture_with(&model.join("confusion.png"), None, 8);
    let history = model.join("history.json");
    let smoothed = tmp.path().join("smoothed.svg");
    let o = run_bare(&[
        "plot",
        history.to_str().unwrap(),
        "--smooth",
        "0.8",
        "--out",
        smoothed.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let svg = std::fs::read_to_string(&smoothed).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("(smoothed)"),
        "{svg}"
    );
    let o = run_bare(&["plot", history.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let o = run_bare(&["plot", tmp.path().join("nope.json").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("nope.json"), "{}", text(&o));
    let digit = digit_png(tmp.path());
    let d = digit.to_str().unwrap();

    let act = tmp.path().join("act");
    let o = run(&[
        "activations",
        "--model",
        m,
        "--out",
        act.to_str().unwrap(),
        d,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    // conv2d: 32 channels of 26x26 enlarged to 52x52 (min tile 32): 16 per row, 2 rows.
    picture(&act.join("conv2d.png"), Some((16 * 53 - 1, 2 * 53 - 1)));
    for layer in ["max_pooling2d", "conv2d_1", "max_pooling2d_1", "conv2d_2"] {
        picture(&act.join(format!("{layer}.png")), None);
    }
    picture(&act.join("channel_conv2d_0.png"), None);

    let filters = tmp.path().join("filters");
    let o = run(&[
        "filters",
        "--model",
        m,
        "--layer",
        "conv2d_1",
        "--count",
        "16",
        "--out",
        filters.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    // 16 filters, 8 per row, 28 - 2 * 3 cropped = 22 pixels, margins of 5.
    picture(
        &filters.join("filters_conv2d_1.png"),
        Some((8 * 27 + 5, 2 * 27 + 5)),
    );
    let o = run(&[
        "filters",
        "--model",
        m,
        "--class",
        "7",
        "--out",
        filters.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    picture(&filters.join("class_7.png"), Some((22, 22)));
    // The README's regularised run (jitter 4 px, scale 5%, 5 degrees), a few steps.
    let o = run(&[
        "filters",
        "--model",
        m,
        "--class",
        "3",
        "--steps",
        "3",
        "--regularise",
        "4,0.05,5",
        "--out",
        filters.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    picture(&filters.join("class_3.png"), Some((22, 22)));

    let cam = tmp.path().join("cam");
    let o = run(&["gradcam", "--model", m, "--out", cam.to_str().unwrap(), d]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("layer conv2d_2"), "{t}");
    picture(&cam.join("seven_heatmap.png"), Some((28, 28)));
    picture(&cam.join("seven_gradcam.png"), Some((28, 28)));
    // The captioned figure: three 28-pixel panels enlarged to 224, side by side.
    picture(&cam.join("seven_explained.png"), None);
    let figure = image::open(cam.join("seven_explained.png")).unwrap();
    assert_eq!(figure.width(), 3 * 224 + 4 * 12);

    // Bad input: clear errors, never a panic.
    let bad = |args: &[&str], expected: &[&str]| {
        let o = run(args);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(1), "{t}");
        assert!(!t.contains("panicked"), "{t}");
        for e in expected {
            assert!(t.contains(e), "expected '{e}' in: {t}");
        }
    };
    bad(
        &["gradcam", "--model", m, "--layer", "conv9", d],
        &["no layer 'conv9'", "conv2d, conv2d_1, conv2d_2"],
    );
    bad(
        &["gradcam", "--model", m, "--layer", "dense", d],
        &["not a spatial", "conv2d_2"],
    );
    bad(
        &["gradcam", "--model", m, "--class", "10", d],
        &["class index 10 is out of range: the model has 10 classes"],
    );
    let notes = tmp.path().join("notes.png");
    std::fs::write(&notes, b"not an image").unwrap();
    bad(
        &["gradcam", "--model", m, notes.to_str().unwrap()],
        &["notes.png", "not an image (unrecognised file signature)"],
    );
    bad(
        &["activations", "--model", m, "--layers", "flatten", d],
        &["not a spatial"],
    );
    bad(
        &[
            "filters", "--model", m, "--layer", "conv2d", "--class", "12",
        ],
        &["class index 12 is out of range"],
    );
    bad(&["filters", "--model", m], &["give --layer", "conv2d_1"]);
    // A mistyped model path says so, not only "unknown application".
    bad(
        &["predict", "--model", "runs/no-such-model", d],
        &[
            "runs/no-such-model: no such model directory",
            "efficientnet-lite0",
        ],
    );
    // An option's bad value is a usage error (exit status 2) that says what is expected.
    let o = run(&[
        "filters",
        "--model",
        m,
        "--class",
        "3",
        "--regularise",
        "4,0.05",
    ]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains("three numbers JITTER,SCALE,DEGREES") && !t.contains("panicked"),
        "{t}"
    );
}

#[test]
fn pictures_of_pretrained_efficientnet_lite0() {
    let tmp = tempfile::tempdir().unwrap();
    let chelsea = skimage_photos().join("chelsea.png");
    let c = chelsea.to_str().unwrap();
    let lite = "efficientnet-lite0";

    let cam = tmp.path().join("cam");
    let o = run(&[
        "gradcam",
        "--model",
        lite,
        "--out",
        cam.to_str().unwrap(),
        c,
    ]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("Egyptian cat") && t.contains("top_activation"),
        "{t}"
    );
    picture(&cam.join("chelsea_heatmap.png"), Some((451, 300)));
    picture(&cam.join("chelsea_gradcam.png"), Some((451, 300)));
    picture(&cam.join("chelsea_explained.png"), None);
    let o = run(&[
        "gradcam",
        "--model",
        lite,
        "--method",
        "gradcam++",
        "--out",
        cam.to_str().unwrap(),
        c,
    ]);
    assert!(o.status.success(), "{}", text(&o));

    let act = tmp.path().join("act");
    let o = run(&[
        "activations",
        "--model",
        lite,
        "--layers",
        "stem_conv,block2a_project_conv",
        "--out",
        act.to_str().unwrap(),
        c,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    // stem_conv: 32 channels of 112x112.
    picture(
        &act.join("stem_conv.png"),
        Some((16 * 113 - 1, 2 * 113 - 1)),
    );
    picture(&act.join("block2a_project_conv.png"), None);

    let filters = tmp.path().join("filters");
    let o = run(&[
        "filters",
        "--model",
        lite,
        "--layer",
        "stem_conv",
        "--count",
        "8",
        "--steps",
        "10",
        "--out",
        filters.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    // 224 - 2 * 28 cropped = 168 pixels per pattern, 8 in one row.
    picture(
        &filters.join("filters_stem_conv.png"),
        Some((8 * 173 + 5, 173 + 5)),
    );
}
