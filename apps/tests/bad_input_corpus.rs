//! A bad-input corpus through every command that reads user files (issue 13, item 12). The
//! corpus is generated here, file by file (empty, random bytes, text, cut PNG and JPEG, pixel
//! bombs, directories and FIFOs named like files, symlink loops, corrupt model directories and
//! weights, broken classifier info, bad histories and IDX files), and each case must end within a time limit with exit
//! code 1 and a message naming the file, never a panic, an abort or a C++ backtrace, and leave
//! no half-written file in the output folder.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

mod common;

use convkit_layers::prelude::*;

/// One generated bad file (or folder), the name its message must carry.
struct Case {
    path: PathBuf,
    named: String,
}

fn case(path: PathBuf) -> Case {
    let named = path.file_name().unwrap().to_string_lossy().into_owned();
    Case { path, named }
}

fn mkfifo(path: &Path) {
    assert!(Command::new("mkfifo").arg(path).status().unwrap().success());
}

fn noise(n: usize) -> Vec<u8> {
    let mut state = 99u32;
    (0..n)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 24) as u8
        })
        .collect()
}

fn encoded(img: &image::RgbImage, format: image::ImageFormat) -> Vec<u8> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    img.write_to(&mut bytes, format).unwrap();
    bytes.into_inner()
}

/// A PNG whose header claims `side` x `side` pixels over a tiny compressed body.
fn png_claiming(side: u32) -> Vec<u8> {
    let mut png = encoded(&image::RgbImage::new(4, 4), image::ImageFormat::Png);
    // IHDR's type and data sit at bytes 12..29, its CRC at 29..33 (made valid again, so
    // that the pixel limit, not the checksum, is what refuses the file).
    png[16..20].copy_from_slice(&side.to_be_bytes());
    png[20..24].copy_from_slice(&side.to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(&png[12..29]);
    png[29..33].copy_from_slice(&crc.sum().to_be_bytes());
    png
}

/// Bad image files, one per way an image can be broken.
fn bad_images(dir: &Path) -> Vec<Case> {
    std::fs::create_dir_all(dir).unwrap();
    let photo = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 90]));
    let png = encoded(&photo, image::ImageFormat::Png);
    let jpg = encoded(&photo, image::ImageFormat::Jpeg);
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("empty.png", vec![]),
        ("noise.png", noise(4096)),
        ("text.jpg", b"this is not an image\n".to_vec()),
        ("cut.png", png[..png.len() / 2].to_vec()),
        ("cut.jpg", jpg[..jpg.len() / 2].to_vec()),
        ("header-only.jpg", jpg[..200].to_vec()),
        ("bomb.png", png_claiming(200_000)),
        ("png-named.jpg", png_claiming(0)),
    ];
    let mut cases: Vec<Case> = files
        .into_iter()
        .map(|(name, bytes)| {
            let p = dir.join(name);
            std::fs::write(&p, bytes).unwrap();
            case(p)
        })
        .collect();
    let folder = dir.join("folder.png");
    std::fs::create_dir_all(&folder).unwrap();
    cases.push(case(folder));
    let fifo = dir.join("fifo.jpg");
    mkfifo(&fifo);
    cases.push(case(fifo));
    let looped = dir.join("loop.png");
    std::os::unix::fs::symlink(&looped, &looped).unwrap();
    cases.push(case(looped));
    cases.push(case(dir.join("missing.png")));
    cases
}

/// Model directories broken in each file, from a real saved model.
fn bad_models(dir: &Path) -> Vec<Case> {
    let good = dir.join("good");
    let mut m = Sequential::new();
    m.add(Conv2D::new(4, 3).input_shape([1, 28, 28])).unwrap();
    m.add(Flatten::new()).unwrap();
    m.add(Dense::new(10).activation(Activation::Softmax))
        .unwrap();
    save_model(&m, &good).unwrap();
    let json = std::fs::read_to_string(good.join("model.json")).unwrap();
    let weights = std::fs::read(good.join("model.safetensors")).unwrap();
    let variants: Vec<(&str, &str, Vec<u8>)> = vec![
        (
            "json-cut",
            "model.json",
            json.as_bytes()[..json.len() / 2].to_vec(),
        ),
        ("json-array", "model.json", b"[]".to_vec()),
        (
            "json-class",
            "model.json",
            json.replace("Sequential", "Gizmo").into_bytes(),
        ),
        (
            "json-filters",
            "model.json",
            json.replace("\"filters\": 4", "\"filters\": 1000000000000")
                .into_bytes(),
        ),
        (
            "json-negative",
            "model.json",
            json.replace("\"filters\": 4", "\"filters\": -4")
                .into_bytes(),
        ),
        (
            "json-kernel",
            "model.json",
            json.replace("\"filters\": 4", "\"filters\": 5")
                .into_bytes(),
        ),
        (
            "weights-cut",
            "model.safetensors",
            weights[..weights.len() / 2].to_vec(),
        ),
        ("weights-noise", "model.safetensors", noise(weights.len())),
        ("weights-empty", "model.safetensors", vec![]),
    ];
    let mut cases = Vec::new();
    for (name, file, bytes) in variants {
        let d = dir.join(name);
        std::fs::create_dir_all(&d).unwrap();
        for f in ["model.json", "model.safetensors"] {
            std::fs::copy(good.join(f), d.join(f)).unwrap();
        }
        std::fs::write(d.join(file), bytes).unwrap();
        cases.push(Case {
            path: d,
            named: name.to_owned(),
        });
    }
    // Keras 3 archives: not a zip, a zip without the model, and configurations convkit
    // refuses (a Lambda layer, an unknown class) before any weight is read.
    let lambda = r#"{"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [null, 28, 28, 1]}},
        {"class_name": "Lambda", "config": {"name": "code", "function": "4wEAAAAA"}}]}}"#;
    let gizmo = lambda.replace("Lambda", "Gizmo");
    for (name, entries) in [
        ("empty.keras", None),
        ("noise.keras", Some(vec![])),
        (
            "no-config.keras",
            Some(vec![("metadata.json", b"{}".to_vec())]),
        ),
        (
            "bad-json.keras",
            Some(vec![("config.json", b"{\"class_name\": ".to_vec())]),
        ),
        (
            "lambda.keras",
            Some(vec![
                ("config.json", lambda.as_bytes().to_vec()),
                ("model.weights.h5", noise(1_000)),
            ]),
        ),
        (
            "gizmo.keras",
            Some(vec![
                ("config.json", gizmo.into_bytes()),
                ("model.weights.h5", noise(1_000)),
            ]),
        ),
        (
            "weights-noise.keras",
            Some(vec![
                (
                    "config.json",
                    lambda
                        .replace("Lambda", "Flatten")
                        .replace(r#", "function": "4wEAAAAA""#, "")
                        .into_bytes(),
                ),
                ("model.weights.h5", noise(1_000)),
            ]),
        ),
    ] {
        let p = dir.join(name);
        match entries {
            None => std::fs::write(&p, b"").unwrap(),
            Some(e) if e.is_empty() => std::fs::write(&p, noise(5_000)).unwrap(),
            Some(e) => write_zip(&p, &e),
        }
        cases.push(case(p));
    }
    let d = dir.join("weights-fifo");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::copy(good.join("model.json"), d.join("model.json")).unwrap();
    mkfifo(&d.join("model.safetensors"));
    cases.push(Case {
        path: d,
        named: "weights-fifo".into(),
    });
    cases
}

/// A zip archive of `entries` at `path`.
fn write_zip(path: &Path, entries: &[(&str, Vec<u8>)]) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, bytes) in entries {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

/// Bad weights files for a pretrained application (`--weights`).
fn bad_weights(dir: &Path) -> Vec<Case> {
    std::fs::create_dir_all(dir).unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tensor/tests/fixtures/pth");
    let mut cases = Vec::new();
    for (name, bytes) in [
        ("empty.pth", vec![]),
        ("noise.pth", noise(10_000)),
        ("noise.safetensors", noise(10_000)),
        ("empty.h5", vec![]),
        ("noise.h5", noise(10_000)),
        // HDF5's signature, then noise: a corrupt superblock.
        (
            "corrupt.h5",
            [b"\x89HDF\r\n\x1a\n".as_slice(), &noise(4_000)].concat(),
        ),
        (
            "tiny.pth",
            std::fs::read(fixtures.join("tiny_zip.pth")).unwrap(),
        ),
        (
            "truncated.pth",
            std::fs::read(fixtures.join("truncated_zip.pth")).unwrap(),
        ),
        (
            "evil.pth",
            std::fs::read(fixtures.join("evil_os.pth")).unwrap(),
        ),
    ] {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        cases.push(case(p));
    }
    let fifo = dir.join("fifo.pth");
    mkfifo(&fifo);
    cases.push(case(fifo));
    cases
}

/// Bad `history.json` files for `plot`.
fn bad_histories(dir: &Path) -> Vec<Case> {
    std::fs::create_dir_all(dir).unwrap();
    let mut cases = Vec::new();
    for (name, text) in [
        ("empty.json", ""),
        ("cut.json", "{\"history\": {\"loss\": [1.0, 0."),
        (
            "types.json",
            "{\"history\": {\"loss\": \"low\"}, \"epoch\": [0]}",
        ),
        ("array.json", "[1, 2, 3]"),
    ] {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        cases.push(case(p));
    }
    cases
}

/// MNIST data folders with one broken IDX file each.
fn bad_mnist(dir: &Path) -> Vec<Case> {
    let names = [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ];
    let good = |n: u32| -> Vec<Vec<u8>> {
        let imgs = convkit_data::idx::encode_u8(&[n, 28, 28], &noise(n as usize * 784));
        let labels = convkit_data::idx::encode_u8(&[n], &vec![3; n as usize]);
        vec![imgs.clone(), labels.clone(), imgs, labels]
    };
    let mut gz_bomb = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // A valid IDX header for 1 image, then 64 MiB of zeros: inflates far past its claim.
    gz_bomb
        .write_all(&convkit_data::idx::encode_u8(&[1, 28, 28], &[0; 784]))
        .unwrap();
    gz_bomb.write_all(&vec![0; 64 << 20]).unwrap();
    let gz_bomb = gz_bomb.finish().unwrap();
    let variants: Vec<(&str, usize, Vec<u8>)> = vec![
        ("idx-empty", 0, vec![]),
        ("idx-noise", 0, noise(5000)),
        ("idx-cut", 0, good(8)[0][..3000].to_vec()),
        (
            "idx-overflow",
            0,
            convkit_data::idx::encode_u8(&[1 << 31, 1 << 31, 4], &[]),
        ),
        (
            "idx-rank",
            2,
            convkit_data::idx::encode_u8(&[8, 28], &noise(224)),
        ),
        ("idx-count", 1, convkit_data::idx::encode_u8(&[7], &[1; 7])),
        ("idx-gzbomb", 0, gz_bomb),
    ];
    let mut cases = Vec::new();
    for (name, which, bytes) in variants {
        let d = dir.join(name);
        let mnist = d.join("mnist");
        std::fs::create_dir_all(&mnist).unwrap();
        for (i, (f, content)) in names.iter().zip(good(8)).enumerate() {
            let target = mnist.join(f);
            let content = if i == which { bytes.clone() } else { content };
            let path = if i == which && bytes.starts_with(&[0x1f, 0x8b]) {
                mnist.join(format!("{f}.gz"))
            } else {
                target
            };
            std::fs::write(path, content).unwrap();
        }
        cases.push(Case {
            path: d,
            named: names[which].to_owned(),
        });
    }
    cases
}

/// Runs one command on one case and checks the outcome.
/// Classifiers saved by `train` whose `info.json` is broken (cut, not an object, another
/// format, sizes no decoder should make, an unknown filter or base, classes that do not match
/// the model's outputs).
fn bad_classifiers(dir: &Path) -> Vec<Case> {
    let mut m = Sequential::new();
    m.add(Flatten::new().input_shape([3, 32, 32])).unwrap();
    m.add(Dense::new(2).activation(Activation::Softmax))
        .unwrap();
    let info = serde_json::json!({
        "format": "convkit-classifier", "class_names": ["a", "b"], "label_mode": "sparse",
        "image_size": [32, 32], "interpolation": "bilinear", "background_removal": false,
        "preprocessing": {"kind": "rescale", "scale": 1.0 / 255.0},
    });
    let text = serde_json::to_string(&info).unwrap();
    let edit = |key: &str, value: serde_json::Value| {
        let mut v = info.clone();
        v[key] = value;
        serde_json::to_vec(&v).unwrap()
    };
    let variants: Vec<(&str, Vec<u8>)> = vec![
        ("info-cut", text.as_bytes()[..text.len() / 2].to_vec()),
        ("info-array", b"[]".to_vec()),
        ("info-format", edit("format", "keras".into())),
        (
            "info-huge",
            edit("image_size", serde_json::json!([1_000_000, 1_000_000])),
        ),
        ("info-zero", edit("image_size", serde_json::json!([0, 32]))),
        ("info-filter", edit("interpolation", "sinc".into())),
        (
            "info-base",
            edit(
                "preprocessing",
                serde_json::json!({"kind": "base", "base": "resnet99", "weights": "x.pth"}),
            ),
        ),
        (
            "info-classes",
            edit("class_names", serde_json::json!(["a", "b", "c"])),
        ),
        ("info-size", edit("image_size", serde_json::json!([64, 64]))),
    ];
    let mut cases = Vec::new();
    for (name, bytes) in variants {
        let d = dir.join(name);
        save_model_with_info(&m, &d, Some(&info)).unwrap();
        std::fs::write(d.join("info.json"), bytes).unwrap();
        cases.push(Case {
            path: d,
            named: name.to_owned(),
        });
    }
    cases
}

fn check(args: &[String], c: &Case, out: &Path) {
    let (code, text) =
        common::run_limited(args, &[("CONVKIT_THREADS", "1")], Duration::from_secs(90));
    let what = format!("{args:?} on {}", c.path.display());
    assert_eq!(code, Some(1), "{what}: {text}");
    let last = text
        .lines()
        .rev()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_default();
    assert!(
        last.contains(&c.named),
        "{what}: the error does not name {}: {text}",
        c.named
    );
    assert_nothing_half_written(out, &what);
    if std::env::var_os("CONVKIT_SHOW_ERRORS").is_some() {
        let shown = format!("{what}\n    {last}\n");
        std::io::stderr().write_all(shown.as_bytes()).unwrap();
    }
}

/// No temporary (`.x.tmp-PID`) and no empty file under `out`.
fn assert_nothing_half_written(out: &Path, what: &str) {
    let Ok(entries) = std::fs::read_dir(out) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let meta = e.metadata().unwrap();
        assert!(
            !name.contains(".tmp-"),
            "{what}: left {name} in {}",
            out.display()
        );
        if meta.is_dir() {
            assert_nothing_half_written(&e.path(), what);
        } else if name != ".convkit.lock" {
            assert!(meta.len() > 0, "{what}: left an empty {name}");
        }
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

#[test]
fn every_command_refuses_every_bad_file_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let out = root.join("out");
    let o = out.to_str().unwrap().to_owned();
    let mut runs = 0;

    let images = bad_images(&root.join("images"));
    let models = bad_models(&root.join("models"));
    let good_model = root.join("models/good");
    let g = good_model.to_str().unwrap().to_owned();
    for c in &images {
        let p = c.path.to_str().unwrap().to_owned();
        for args in [
            strings(&["predict", "--model", &g, &p]),
            strings(&["gradcam", "--model", &g, "--out", &o, &p]),
            strings(&["activations", "--model", &g, "--out", &o, &p]),
            strings(&["augment", "preview", &p, "--out", &o, "--count", "2"]),
        ] {
            check(&args, c, &out);
            runs += 1;
        }
    }
    let digit = root.join("digit.png");
    image::GrayImage::from_pixel(28, 28, image::Luma([200]))
        .save(&digit)
        .unwrap();
    let d = digit.to_str().unwrap().to_owned();
    let scored = root.join("scored");
    for class in ["four", "nine"] {
        std::fs::create_dir_all(scored.join(class)).unwrap();
        std::fs::copy(&digit, scored.join(class).join("digit.png")).unwrap();
    }
    let s = scored.to_str().unwrap().to_owned();
    for c in &models {
        let m = c.path.to_str().unwrap().to_owned();
        check(&strings(&["predict", "--model", &m, &d]), c, &out);
        check(
            &strings(&["gradcam", "--model", &m, "--out", &o, &d]),
            c,
            &out,
        );
        let exported = out.join("exported.keras");
        let e = exported.to_str().unwrap();
        check(&strings(&["export", "--model", &m, "--keras", e]), c, &out);
        assert!(!exported.exists(), "{m}: nothing exported from a bad model");
        check(&strings(&["evaluate", "--model", &m, &s]), c, &out);
        runs += 4;
    }
    for c in bad_weights(&root.join("weights")) {
        let w = c.path.to_str().unwrap().to_owned();
        // Keras' HDF5 files go to a Keras base (Lite0 refuses .h5 before reading it).
        let base = if w.ends_with(".h5") {
            "xception"
        } else {
            "efficientnet-lite0"
        };
        check(
            &strings(&["predict", "--model", base, "--weights", &w, &d]),
            &c,
            &out,
        );
        runs += 1;
    }
    for c in bad_histories(&root.join("histories")) {
        let h = c.path.to_str().unwrap().to_owned();
        let picture = root.join("curves.png");
        check(
            &strings(&["plot", &h, "--out", picture.to_str().unwrap()]),
            &c,
            &out,
        );
        assert!(!picture.exists(), "plot wrote a picture of a bad history");
        runs += 1;
    }
    for c in bad_mnist(&root.join("mnist")) {
        let data = c.path.to_str().unwrap().to_owned();
        check(
            &strings(&["mnist", "--data-dir", &data, "--epochs", "1", "--out", &o]),
            &c,
            &out,
        );
        runs += 1;
    }
    let photos = root.join("photos");
    for (class, value) in [("a", 40u8), ("b", 200u8)] {
        std::fs::create_dir_all(photos.join(class)).unwrap();
        for i in 0..5 {
            image::RgbImage::from_pixel(32, 32, image::Rgb([value, 90, 30]))
                .save(photos.join(class).join(format!("{i}.png")))
                .unwrap();
        }
    }
    let ph = photos.to_str().unwrap().to_owned();
    let rgb = photos.join("a/0.png").to_str().unwrap().to_owned();
    for c in bad_classifiers(&root.join("classifiers")) {
        let m = c.path.to_str().unwrap().to_owned();
        check(&strings(&["predict", "--model", &m, &rgb]), &c, &out);
        check(
            &strings(&["train", &ph, "--model", &m, "--epochs", "1", "--out", &o]),
            &c,
            &out,
        );
        runs += 2;
    }
    assert_eq!(runs, 155, "every case ran");
}
