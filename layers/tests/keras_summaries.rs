//! Architectures against the summaries Keras 3.15.1 prints for the same code.
//!
//! Fixture: `layers/tests/fixtures/keras_model_summaries.json`, made by
//! `scripts/fixtures/make_keras_model_summaries.py` (the Keras code of each model is in its
//! docstring: `keras.applications.VGG16/Xception(weights=None, ...)`, the book's frozen and
//! fine-tuned VGG16 heads, mini-Xception, residual example and segmentation model). For every
//! model: total / trainable / non-trainable parameters, and per layer its name, class,
//! output shape (NCHW), parameter count, trainable flag and inbound layers.

use convkit_layers::applications::{
    mini_xception, residual_example, segmentation_model, vgg16, xception, ApplicationConfig,
};
use convkit_layers::prelude::*;
use convkit_tensor::tch::Device;
use serde_json::Value;

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/keras_model_summaries.json"
    );
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn check(name: &str, model: &dyn Model) {
    let f = fixture();
    let want = &f["models"][name];
    let s = convkit_layers::models::summary::summary(model);
    assert_eq!(
        s.total_params,
        want["total"].as_i64().unwrap(),
        "{name}: total"
    );
    assert_eq!(
        s.trainable_params,
        want["trainable"].as_i64().unwrap(),
        "{name}: trainable"
    );
    assert_eq!(
        s.non_trainable_params,
        want["non_trainable"].as_i64().unwrap(),
        "{name}: non-trainable"
    );
    let rows = want["layers"].as_array().unwrap();
    assert_eq!(s.rows.len(), rows.len(), "{name}: layer count");
    let links = model.connections();
    for (i, (got, w)) in s.rows.iter().zip(rows).enumerate() {
        let what = format!("{name} layer {i} ({})", w["name"]);
        assert_eq!(got.name, w["name"].as_str().unwrap(), "{what}: name");
        assert_eq!(
            got.class_name,
            w["class_name"].as_str().unwrap(),
            "{what}: class"
        );
        assert_eq!(got.params, w["params"].as_i64().unwrap(), "{what}: params");
        let shape: Vec<i64> = serde_json::from_value(w["output_shape"].clone()).unwrap();
        assert_eq!(
            got.output_shape.as_deref(),
            Some(&shape[..]),
            "{what}: output shape"
        );
        let layer = model.get_layer(&got.name).unwrap();
        assert_eq!(
            layer.trainable(),
            w["trainable"].as_bool().unwrap(),
            "{what}: trainable"
        );
        if let Some(links) = &links {
            let inbound: Vec<String> = links[i]
                .iter()
                .map(|l| l.split('[').next().unwrap().to_string())
                .collect();
            let want_in: Vec<String> = serde_json::from_value(w["inbound"].clone()).unwrap();
            assert_eq!(inbound, want_in, "{what}: inbound");
        }
    }
}

#[test]
fn vgg16_variants() {
    check(
        "vgg16_notop_150",
        &vgg16(&ApplicationConfig::base(150, 150), Device::Cpu).unwrap(),
    );
    check(
        "vgg16_top_224",
        &vgg16(&ApplicationConfig::default(), Device::Cpu).unwrap(),
    );

    let mut base = vgg16(&ApplicationConfig::base(150, 150), Device::Cpu).unwrap();
    base.set_trainable(false);
    let mut m = Sequential::new();
    m.add(base).unwrap();
    m.add(Flatten::new()).unwrap();
    m.add(Dense::new(12)).unwrap();
    check("vgg16_frozen_dense12_150", &m);

    // The book's fine-tuning: conv_base.trainable = True, then every layer before
    // block5_conv1 frozen; Flatten, Dense(256, relu), Dropout(0.5), Dense(1, sigmoid).
    let mut base = vgg16(&ApplicationConfig::base(150, 150), Device::Cpu).unwrap();
    base.set_trainable_from("block5_conv1").unwrap();
    let mut m = Sequential::new();
    m.add(base).unwrap();
    m.add(Flatten::new()).unwrap();
    m.add(Dense::new(256).activation(Activation::Relu)).unwrap();
    m.add(Dropout::new(0.5)).unwrap();
    m.add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap();
    check("vgg16_finetune_150", &m);
}

#[test]
fn xception_variants() {
    check(
        "xception_top",
        &xception(&ApplicationConfig::default(), Device::Cpu).unwrap(),
    );
    let notop = ApplicationConfig {
        include_top: false,
        input_shape: Some([3, 150, 150]),
        ..ApplicationConfig::default()
    };
    check(
        "xception_notop_150",
        &xception(&notop, Device::Cpu).unwrap(),
    );
}

#[test]
fn the_books_modern_convnets() {
    check("mini_xception", &mini_xception(180, Device::Cpu).unwrap());
    check("residual_example", &residual_example(Device::Cpu).unwrap());
    check(
        "segmentation",
        &segmentation_model(200, 3, Device::Cpu).unwrap(),
    );
}
