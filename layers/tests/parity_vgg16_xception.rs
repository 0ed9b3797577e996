//! Numerical parity of convkit's VGG16 and Xception with the reference implementations.
//!
//! `scripts/fixtures/export_parity_models.py OUTDIR` (run by this test into a cache under
//! `target/`, once) writes:
//! - `vgg16_torchvision.pth`: `torch.manual_seed(0); torchvision.models.vgg16(weights=None)`'s
//!   state dict (zip format), and `vgg16_io.safetensors`: an input `x` (1, 3, 224, 224) and
//!   the logits `y` it gives;
//! - `xception_keras.safetensors`: `keras.utils.set_random_seed(0);
//!   keras.applications.Xception(weights=None, classifier_activation=None)` with random
//!   BatchNorm statistics, every weight under its Keras path, and `xception_io.safetensors`:
//!   `x` (1, 3, 299, 299), the logits `y` and the output of `block14_sepconv2_act`.
//!
//! convkit builds the same architecture, imports the weights by name (torchvision names,
//! Keras paths) and must give the same outputs within 1e-4 relative (to the largest value).

mod common;

use std::path::PathBuf;

use convkit_layers::applications::{vgg16, xception, ApplicationConfig};
use convkit_layers::prelude::*;
use convkit_layers::saving::import::{keras::load_keras_weights, torchvision::load_vgg16};
use convkit_tensor::tch::{Device, Kind, Tensor};

fn exported() -> PathBuf {
    common::export_fixtures("export_parity_models.py", "parity-models", &[])
}

fn assert_close_rel(actual: &Tensor, expected: &Tensor, what: &str) {
    assert_eq!(actual.size(), expected.size(), "{what}: shape");
    let a = actual.to_kind(Kind::Double);
    let b = expected.to_kind(Kind::Double);
    let scale = f64::try_from(b.abs().max()).unwrap().max(1e-12);
    let worst = f64::try_from((&a - &b).abs().max()).unwrap();
    eprintln!("{what}: max |diff| {worst:.3e}, max |value| {scale:.3e}");
    assert!(
        worst <= 1e-4 * scale,
        "{what}: max |diff| {worst} > 1e-4 * {scale}"
    );
}

#[test]
fn vgg16_matches_torchvision_and_xception_matches_keras() {
    let dir = exported();

    let config = ApplicationConfig {
        classifier_activation: Activation::Linear,
        ..ApplicationConfig::default()
    };
    let mut vgg = vgg16(&config, Device::Cpu).unwrap();
    let report = load_vgg16(&mut vgg, &dir.join("vgg16_torchvision.pth")).unwrap();
    assert_eq!(report.loaded, 32);
    assert!(report.unused.is_empty(), "{:?}", report.unused);
    let t = common::read_tensors(dir.join("vgg16_io.safetensors"));
    let y = vgg.predict(&t["x"], 1).unwrap();
    assert_close_rel(&y, &t["y"], "vgg16 logits");
    drop(vgg);

    let config = ApplicationConfig {
        classifier_activation: Activation::Linear,
        ..ApplicationConfig::default()
    };
    let mut xc = xception(&config, Device::Cpu).unwrap();
    let report = load_keras_weights(&mut xc, &dir.join("xception_keras.safetensors")).unwrap();
    assert!(report.unused.is_empty(), "{:?}", report.unused);
    let t = common::read_tensors(dir.join("xception_io.safetensors"));
    let y = xc.predict(&t["x"], 1).unwrap();
    assert_close_rel(&y, &t["y"], "xception logits");
    let features = SubModel::outputs(&xc, &["block14_sepconv2_act"])
        .unwrap()
        .predict(&t["x"])
        .unwrap();
    assert_close_rel(
        &features[0],
        &t["block14_sepconv2_act"],
        "block14_sepconv2_act",
    );
}
