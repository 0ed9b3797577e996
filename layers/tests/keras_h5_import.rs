//! Keras' legacy HDF5 weight files (the layout `keras.applications` downloads) loaded into
//! convkit's models give Keras' outputs.
//!
//! `scripts/fixtures/export_keras_h5_models.py OUTDIR` (run by these tests into a cache under
//! `target/`, once; Keras 3.15.1, `KERAS_BACKEND=torch`) writes, from models with random
//! weights (`keras.utils.set_random_seed(0)`; Xception's BatchNorm statistics randomised):
//! - `vgg16_notop.h5`, `vgg16_top.h5`: `keras.applications.VGG16(weights=None)` without and
//!   with its top, Keras 1 weight names (`block1_conv1_W_1:0`) as in the 2016 files;
//! - `xception_notop.h5`, `xception_top.h5`: `keras.applications.Xception(weights=None)`,
//!   Keras 2 names (`block1_conv1/kernel:0`); `resnet50_notop.h5`, `resnet50_top.h5` the
//!   same for `keras.applications.ResNet50(weights=None)`;
//! - `mnist_convnet.h5` (the book's MNIST convnet: `Flatten -> Dense`) and `cats_convnet.h5`
//!   (the cats-vs-dogs convnet at 64x64: `Flatten -> Dropout -> Dense`), where the first
//!   Dense kernel's rows must be permuted from Keras' HWC flattening to convkit's CHW;
//! - `<name>_io.safetensors`: the input `x` (NCHW; Keras got its NHWC transpose) and Keras'
//!   outputs: `notop_avg` (`include_top=False, pooling="avg"`) and `top` (logits), or `y`.
//!
//! The script checks each file with Keras' own legacy loader first. Outputs must agree
//! element by element within 1e-5 relative or 1e-6 absolute.

mod common;

use std::path::Path;

use convkit_layers::applications::{
    mnist_convnet, resnet50, small_convnet, vgg16, xception, ApplicationConfig,
};
use convkit_layers::prelude::*;
use convkit_layers::saving::import::keras_h5::load_keras_h5;
use convkit_tensor::tch::Device;

fn load(model: &mut dyn Model, path: &Path) {
    let report = load_keras_h5(model, path).unwrap();
    assert_eq!(
        report.loaded,
        model.named_params().len(),
        "every weight loaded from {}",
        path.display()
    );
    assert!(report.unused.is_empty(), "{:?}", report.unused);
}

#[test]
fn flatten_then_dense_convnets_match_keras() {
    let dir = common::keras_h5_fixtures("mnist_convnet");
    let mut m = mnist_convnet(Device::Cpu).unwrap();
    load(&mut m, &dir.join("mnist_convnet.h5"));
    let t = common::read_tensors(dir.join("mnist_convnet_io.safetensors"));
    common::assert_close(&m.predict(&t["x"], 2).unwrap(), &t["y"], "mnist convnet");

    let dir = common::keras_h5_fixtures("cats_convnet");
    let mut m = small_convnet(64, Some(0.5), Device::Cpu).unwrap();
    load(&mut m, &dir.join("cats_convnet.h5"));
    let t = common::read_tensors(dir.join("cats_convnet_io.safetensors"));
    common::assert_close(&m.predict(&t["x"], 2).unwrap(), &t["y"], "cats convnet");
}

/// `NAME_notop.h5` into the application without its top (average pooling) and
/// `NAME_top.h5` into the one with it (logits): both give Keras' outputs.
fn application_matches_keras(
    name: &str,
    build: fn(&ApplicationConfig, Device) -> convkit_layers::Result<Functional>,
) {
    let dir = common::keras_h5_fixtures(name);
    let t = common::read_tensors(dir.join(format!("{name}_io.safetensors")));
    for (config, file, output) in [
        (common::notop_avg(), "notop", "notop_avg"),
        (common::logits(), "top", "top"),
    ] {
        let mut model = build(&config, Device::Cpu).unwrap();
        load(&mut model, &dir.join(format!("{name}_{file}.h5")));
        let y = model.predict(&t["x"], 1).unwrap();
        common::assert_close(&y, &t[output], &format!("{name} {output}"));
    }
}

#[test]
fn vgg16_files_match_keras_with_and_without_top() {
    application_matches_keras("vgg16", vgg16);
}

#[test]
fn resnet50_files_match_keras_with_and_without_top() {
    application_matches_keras("resnet50", resnet50);
}

#[test]
fn xception_files_match_keras_with_and_without_top() {
    application_matches_keras("xception", xception);
}

/// Loads `file` into `model`, which must fail, and returns the error's text.
fn refused(model: &mut dyn Model, file: &Path) -> String {
    let err = load_keras_h5(model, file).expect_err("the file must be refused");
    eprintln!("refused: {err}");
    err.to_string()
}

#[test]
fn bad_files_are_clear_errors() {
    let dir = common::keras_h5_fixtures("mnist_convnet");
    let good = dir.join("mnist_convnet.h5");
    let tmp = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(&good).unwrap();

    // Truncated: the metadata survives, the data does not.
    let cut = tmp.path().join("cut.h5");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = refused(&mut mnist_convnet(Device::Cpu).unwrap(), &cut);
    assert!(e.contains("cut.h5") && e.contains("truncated"), "{e}");
    // Cut inside the header.
    std::fs::write(&cut, &bytes[..300]).unwrap();
    let e = refused(&mut mnist_convnet(Device::Cpu).unwrap(), &cut);
    assert!(e.contains("cut.h5") && e.contains("truncated"), "{e}");
    // Not HDF5 at all.
    let junk = tmp.path().join("junk.h5");
    std::fs::write(&junk, b"this is not an HDF5 file").unwrap();
    let e = refused(&mut mnist_convnet(Device::Cpu).unwrap(), &junk);
    assert!(e.contains("not a readable HDF5 file"), "{e}");
    // Corrupt metadata bytes.
    let mut corrupt = bytes.clone();
    for i in (96..2048).step_by(5) {
        corrupt[i] ^= 0x5a;
    }
    let bad = tmp.path().join("corrupt.h5");
    std::fs::write(&bad, &corrupt).unwrap();
    let e = refused(&mut mnist_convnet(Device::Cpu).unwrap(), &bad);
    assert!(e.contains("corrupt.h5"), "{e}");

    // Layer names that do not match the architecture: every missing layer is named.
    let cats = common::keras_h5_fixtures("cats_convnet").join("cats_convnet.h5");
    let mut m = mnist_convnet(Device::Cpu).unwrap();
    for l in m.layers_mut() {
        let renamed = format!("my_{}", l.name());
        l.common_mut().name = Some(renamed);
    }
    let e = refused(&mut m, &cats);
    assert!(
        e.contains("layer 'my_conv2d' (Conv2D) has 2 weight(s); the file has no weights")
            && e.contains("my_dense_1"),
        "{e}"
    );
    // A weight of the wrong shape: the cats convnet built for 80x80 instead of 64x64, so
    // its first Dense takes 1,152 features, not 512.
    let mut m = small_convnet(80, Some(0.5), Device::Cpu).unwrap();
    let e = refused(&mut m, &cats);
    assert!(
        e.contains("dense/dense/kernel:0") && e.contains("[512, 512]") && e.contains("[1152, 512]"),
        "{e}"
    );
    // A Keras 3 .weights.h5 is recognised and named.
    let k3 = tmp.path().join("model.weights.h5");
    let status = std::process::Command::new(common::venv_python())
        .args([
            "-c",
            "import sys, keras; m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]); \
             m.save_weights(sys.argv[1])",
        ])
        .arg(&k3)
        .env("KERAS_BACKEND", "torch")
        .status()
        .unwrap();
    assert!(status.success());
    let mut d = Sequential::new();
    d.add(Dense::new(2).input_shape([4])).unwrap();
    let e = refused(&mut d, &k3);
    assert!(e.contains("a Keras 3 .weights.h5"), "{e}");
}
