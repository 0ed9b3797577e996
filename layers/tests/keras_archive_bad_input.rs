//! Damaged or foreign `.keras` archives are clear errors naming the file and what is wrong,
//! never a panic: truncated and corrupt archives, an unknown layer class or argument, an
//! unsupported value, a `Lambda` layer, a weight of the wrong shape and weights of another
//! architecture. The archives are edits of Keras' own (`export_keras_archives.py`, see
//! `keras_archive_import.rs`).

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use convkit_layers::saving::keras_archive::load_keras_model;
use convkit_tensor::tch::Device;
use serde_json::Value;

fn fixtures() -> PathBuf {
    common::export_fixtures("export_keras_archives.py", "keras-archives", &[])
}

fn entries(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes).unwrap();
            (f.name().to_string(), bytes)
        })
        .collect()
}

fn write_zip(path: &Path, entries: &[(String, Vec<u8>)]) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, bytes) in entries {
        zip.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

/// The MNIST convnet's archive with its `config.json` edited by `edit`.
fn edited(dir: &Path, out: &Path, edit: impl Fn(&mut Value)) -> PathBuf {
    let mut files = entries(&dir.join("mnist_convnet.keras"));
    for (name, bytes) in &mut files {
        if name == "config.json" {
            let mut config: Value = serde_json::from_slice(bytes).unwrap();
            edit(&mut config);
            *bytes = serde_json::to_vec(&config).unwrap();
        }
    }
    write_zip(out, &files);
    out.to_path_buf()
}

fn error_of(path: &Path) -> String {
    match load_keras_model(path, Device::Cpu) {
        Ok(_) => panic!("{} loaded", path.display()),
        Err(e) => e.to_string(),
    }
}

fn expect(path: &Path, needles: &[&str]) {
    let message = error_of(path);
    eprintln!("{}: {message}", path.display());
    for needle in needles {
        assert!(message.contains(needle), "'{needle}' not in: {message}");
    }
}

/// The `index`-th layer entry of the functional model's configuration.
fn layer(config: &mut Value, index: usize) -> &mut Value {
    &mut config["config"]["layers"][index]
}

#[test]
fn damaged_and_foreign_archives_are_clear_errors() {
    let dir = fixtures();
    let tmp = tempfile::tempdir().unwrap();
    let t = |n: &str| tmp.path().join(n);
    let original = std::fs::read(dir.join("mnist_convnet.keras")).unwrap();

    std::fs::write(t("truncated.keras"), &original[..original.len() / 2]).unwrap();
    expect(
        &t("truncated.keras"),
        &["truncated.keras", "not a .keras archive"],
    );

    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(t("noise.keras"), &noise).unwrap();
    expect(&t("noise.keras"), &["noise.keras", "not a .keras archive"]);

    let mut files = entries(&dir.join("mnist_convnet.keras"));
    for (name, bytes) in &mut files {
        if name == "model.weights.h5" {
            bytes.truncate(bytes.len() / 3);
        }
    }
    write_zip(&t("cut_weights.keras"), &files);
    expect(
        &t("cut_weights.keras"),
        &["cut_weights.keras", "model.weights.h5"],
    );

    let files: Vec<_> = entries(&dir.join("mnist_convnet.keras"))
        .into_iter()
        .filter(|(n, _)| n != "config.json")
        .collect();
    write_zip(&t("no_config.keras"), &files);
    expect(&t("no_config.keras"), &["no_config.keras", "config.json"]);

    let p = edited(&dir, &t("class.keras"), |c| {
        layer(c, 2)["class_name"] = "MaxPooling3D".into()
    });
    expect(
        &p,
        &[
            "class.keras",
            "max_pooling2d",
            "unknown layer class 'MaxPooling3D'",
        ],
    );

    let p = edited(&dir, &t("argument.keras"), |c| {
        layer(c, 1)["config"]["fancy"] = 1.into()
    });
    expect(
        &p,
        &["argument.keras", "conv2d", "unknown argument 'fancy'"],
    );

    // A quantized policy (float32, mixed_bfloat16 and mixed_float16 are read).
    let p = edited(&dir, &t("dtype.keras"), |c| {
        layer(c, 1)["config"]["dtype"] = "int8_from_float32".into()
    });
    expect(
        &p,
        &["dtype.keras", "conv2d", "'dtype'", "int8_from_float32"],
    );

    let p = edited(&dir, &t("constraint.keras"), |c| {
        layer(c, 1)["config"]["kernel_constraint"] =
            serde_json::json!({"class_name": "MaxNorm", "config": {"max_value": 2}});
    });
    expect(
        &p,
        &[
            "constraint.keras",
            "conv2d",
            "'kernel_constraint'",
            "MaxNorm",
        ],
    );

    let p = edited(&dir, &t("lambda.keras"), |c| {
        layer(c, 2)["class_name"] = "Lambda".into();
        layer(c, 2)["config"]["function"] = "4wEAAAAAAAAA".into();
    });
    expect(
        &p,
        &[
            "lambda.keras",
            "Lambda",
            "safe_mode",
            "nothing in a file is executed",
        ],
    );

    let p = edited(&dir, &t("shape.keras"), |c| {
        layer(c, 1)["config"]["filters"] = 16.into()
    });
    expect(&p, &["shape.keras", "conv2d/kernel", "shape"]);

    // The cats-vs-dogs convnet's weights under the MNIST convnet's architecture.
    let mut files = entries(&dir.join("mnist_convnet.keras"));
    let cats = entries(&dir.join("cats_convnet.keras"));
    for (name, bytes) in &mut files {
        if name == "model.weights.h5" {
            *bytes = cats.iter().find(|(n, _)| n == name).unwrap().1.clone();
        }
    }
    write_zip(&t("foreign.keras"), &files);
    expect(&t("foreign.keras"), &["foreign.keras", "model.weights.h5"]);
}

#[test]
fn an_uncompiled_model_loads_uncompiled() {
    // Keras writes `"compile_config": {}` for a model saved before `compile`.
    let dir = fixtures();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("uncompiled.keras");
    let path = edited(&dir, &out, |c| c["compile_config"] = serde_json::json!({}));
    let model = load_keras_model(&path, Device::Cpu).unwrap_or_else(|e| panic!("{e}"));
    assert!(model.compiled().is_none());
}
