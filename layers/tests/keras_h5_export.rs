//! convkit writes legacy Keras HDF5 weights (`save_keras_h5`) that Keras 3's own
//! `model.load_weights("x.h5")` reads into the same network with the same outputs.
//!
//! The networks are the fixtures of `keras_h5_import.rs` (Keras-written files of
//! `scripts/fixtures/export_keras_h5_models.py`, random weights, read into convkit): each is
//! written again by convkit, and `export_keras_h5_models.py --check FILE NAME KEY IO` builds
//! the Keras network, loads the file with `load_weights` and compares its output with the one
//! Keras computed from its own file (`KEY` of `NAME_io.safetensors`), within 1e-5 relative or
//! 1e-6 absolute. VGG16 is checked without its top (with it, the file is 530 MB); the MNIST
//! convnet covers a Flatten-fed Dense, ResNet50 and Xception BatchNormalization.

mod common;

use std::path::{Path, PathBuf};

use convkit_layers::applications::{mnist_convnet, resnet50, small_convnet, vgg16, xception};
use convkit_layers::prelude::*;
use convkit_layers::saving::export::save_keras_h5;
use convkit_layers::saving::import::keras_h5::load_keras_h5;
use convkit_tensor::tch::Device;

#[test]
fn keras_reads_the_hdf5_weights_convkit_writes() {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("keras-h5-export");
    std::fs::create_dir_all(&out).unwrap();
    let (notop, logits) = (common::notop_avg(), common::logits());
    type Build = Box<dyn Fn() -> Box<dyn Model>>;
    let cases: Vec<(&str, &str, &str, Build)> = vec![
        (
            "mnist_convnet",
            "mnist_convnet.h5",
            "y",
            Box::new(|| Box::new(mnist_convnet(Device::Cpu).unwrap())),
        ),
        (
            "cats_convnet",
            "cats_convnet.h5",
            "y",
            Box::new(|| Box::new(small_convnet(64, Some(0.5), Device::Cpu).unwrap())),
        ),
        ("vgg16", "vgg16_notop.h5", "notop_avg", {
            let c = notop.clone();
            Box::new(move || Box::new(vgg16(&c, Device::Cpu).unwrap()))
        }),
        ("resnet50", "resnet50_notop.h5", "notop_avg", {
            let c = notop.clone();
            Box::new(move || Box::new(resnet50(&c, Device::Cpu).unwrap()))
        }),
        ("xception", "xception_top.h5", "top", {
            let c = logits.clone();
            Box::new(move || Box::new(xception(&c, Device::Cpu).unwrap()))
        }),
    ];
    let mut check: Vec<String> = Vec::new();
    for (name, file, key, build) in cases {
        let dir = common::keras_h5_fixtures(name);
        let mut model = build();
        load_keras_h5(model.as_mut(), &dir.join(file)).unwrap();
        let written = out.join(file);
        save_keras_h5(model.as_ref(), &written).unwrap();
        // convkit reads its own file back to the same weights.
        let mut again = build();
        let report = load_keras_h5(again.as_mut(), &written).unwrap();
        assert_eq!(report.loaded, model.named_params().len(), "{name}");
        for ((n, a), (_, b)) in model.named_params().into_iter().zip(again.named_params()) {
            assert!(a.tensor.equal(&b.tensor), "{name}: {n} read back");
        }
        let io = dir.join(format!("{name}_io.safetensors"));
        check.extend([
            "--check".into(),
            path(&written),
            name.into(),
            key.into(),
            path(&io),
        ]);
    }
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/fixtures/export_keras_h5_models.py");
    let result = std::process::Command::new(common::venv_python())
        .arg(&script)
        .args(&check)
        .env("KERAS_BACKEND", "torch")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&result.stdout);
    eprintln!("{report}");
    assert!(
        result.status.success(),
        "Keras does not read convkit's HDF5 weights as expected:\n{report}\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert_eq!(report.matches("(ok)").count(), 5, "{report}");
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}
