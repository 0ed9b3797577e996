//! `--preprocess` modes against Keras' own `keras.applications.imagenet_utils.preprocess_input`
//! (Keras 3.15.1, `KERAS_BACKEND=torch`, the snippet in `keras_modes`), the mode each
//! weights origin gets, and `--preprocess` on `train` (recorded with the model) and `predict`
//! (overriding it).

mod common;

use common::class_folders::{quick, train, tree, LIMIT, ODD_NAMES};
use common::{python_output, run_limited};
use convkit::classifier_info::{ClassifierInfo, Preprocessing};
use convkit::preprocess_mode::PreprocessMode;
use convkit::pretrained::Base;
use convkit_tensor::tch::{Kind, Tensor};

/// Keras' `preprocess_input(x, mode)` of a fixed `(1, 2, 2, 3)` batch, as NHWC values.
fn keras_modes() -> Vec<(String, Vec<f64>, Vec<f64>)> {
    const SNIPPET: &str = r#"
import os
os.environ["KERAS_BACKEND"] = "torch"
import numpy as np
from keras.applications import imagenet_utils
x = np.array([0, 17, 64, 128, 200, 255, 3, 99, 254, 31, 180, 77], dtype="float32").reshape(1, 2, 2, 3)
for mode in ["caffe", "tf", "torch"]:
    y = imagenet_utils.preprocess_input(x.copy(), mode=mode)
    print(mode, " ".join(repr(float(v)) for v in x.ravel()), "|", " ".join(repr(float(v)) for v in np.asarray(y).ravel()))
"#;
    python_output::<&str>(SNIPPET, &[])
        .lines()
        .map(|l| {
            let (mode, rest) = l.split_once(' ').unwrap();
            let (x, y) = rest.split_once('|').unwrap();
            let nums = |s: &str| s.split_whitespace().map(|v| v.parse().unwrap()).collect();
            (mode.to_string(), nums(x), nums(y))
        })
        .collect()
}

#[test]
fn modes_match_keras_preprocess_input() {
    let modes = keras_modes();
    assert_eq!(modes.len(), 3);
    for (name, x, want) in modes {
        let mode: PreprocessMode = name.parse().unwrap();
        let nhwc = Tensor::from_slice(&x)
            .to_kind(Kind::Float)
            .view([1, 2, 2, 3]);
        let got = mode.apply(&nhwc.permute([0, 3, 1, 2])).unwrap();
        let got: Vec<f64> = Vec::try_from(
            got.permute([0, 2, 3, 1])
                .contiguous()
                .view(-1)
                .to_kind(Kind::Double),
        )
        .unwrap();
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-5 + 1e-5 * w.abs(),
                "{name} [{i}]: convkit {g}, Keras {w}"
            );
        }
    }
}

#[test]
fn weights_decide_the_default_mode() {
    let h5 = std::path::Path::new("vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5");
    let pth = std::path::Path::new("vgg16-397923af.pth");
    assert_eq!(Base::Vgg16.preprocess_mode(Some(h5)), PreprocessMode::Caffe);
    assert_eq!(
        Base::Vgg16.preprocess_mode(Some(pth)),
        PreprocessMode::Torch
    );
    assert_eq!(
        Base::ResNet50.preprocess_mode(Some(h5)),
        PreprocessMode::Caffe
    );
    assert_eq!(Base::Xception.preprocess_mode(Some(h5)), PreprocessMode::Tf);
    assert_eq!(
        Base::EfficientNetLite0.preprocess_mode(Some(pth)),
        PreprocessMode::EfficientNetLite
    );
}

fn outputs(json: &std::path::Path) -> Vec<f64> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap();
    v[0]["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn train_records_preprocess_and_predict_overrides_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tree(&tmp.path().join("data"), &ODD_NAMES);
    let out = tmp.path().join("out");
    let (d, o) = (dir.to_str().unwrap(), out.to_str().unwrap());
    let mut args = quick(d, o);
    args.extend(["--preprocess", "tf"]);
    let (code, text) = train(&args);
    assert_eq!(code, Some(0), "{text}");
    let info = ClassifierInfo::load(&out.join("model")).unwrap().unwrap();
    assert_eq!(
        info.preprocessing,
        Preprocessing::Mode {
            mode: PreprocessMode::Tf
        }
    );

    let image = dir.join("x.y/img 0.png");
    let json = tmp.path().join("p.json");
    let predict = |extra: &[&str]| {
        let mut args = vec!["predict", "--model", o, "--json", json.to_str().unwrap()];
        args.extend_from_slice(extra);
        args.push(image.to_str().unwrap());
        let (code, text) = run_limited(&args, &[("CONVKIT_THREADS", "1")], LIMIT);
        assert_eq!(code, Some(0), "{text}");
        outputs(&json)
    };
    let recorded = predict(&[]);
    assert_eq!(
        predict(&["--preprocess", "tf"]),
        recorded,
        "the recorded mode is tf"
    );
    assert_ne!(
        predict(&["--preprocess", "raw"]),
        recorded,
        "--preprocess overrides it"
    );

    // Continuing a classifier with other preprocessing is refused, naming both.
    let again = tmp.path().join("again");
    let (code, text) = train(&[
        d,
        "--model",
        o,
        "--out",
        again.to_str().unwrap(),
        "--preprocess",
        "caffe",
        "--epochs",
        "1",
    ]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("--preprocess caffe") && text.contains("Tf"),
        "{text}"
    );
    let (code, text) = run_limited(
        &[
            "predict",
            "--model",
            o,
            "--preprocess",
            "imagenet",
            image.to_str().unwrap(),
        ],
        &[],
        LIMIT,
    );
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("caffe, tf, torch"), "{text}");
}
