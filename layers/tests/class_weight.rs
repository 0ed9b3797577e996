//! `fit(class_weight=...)` against Keras 3 (torch backend).
//!
//! Fixture: `layers/tests/fixtures/keras_class_weight.safetensors`, made by
//! `.venv/bin/python scripts/fixtures/make_class_weight_golden.py` (Keras 3.15.1): a Dense
//! layer with set weights trained 2 epochs by SGD(0.1), batch_size 4, shuffle=False, on 10
//! samples with `class_weight`; the script's docstring gives each case's snippet. Keras'
//! Dense kernel is (in, out), as convkit's.

mod common;

use std::collections::HashMap;

use convkit_layers::prelude::*;
use convkit_layers::training::ClassWeight;
use convkit_tensor::tch::{Kind, Tensor};

fn fixtures() -> HashMap<String, Tensor> {
    common::read_tensors(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/keras_class_weight.safetensors"
    ))
}

fn assert_close(actual: &Tensor, expected: &Tensor, what: &str) {
    assert_eq!(actual.size(), expected.size(), "{what}: shape");
    let diff = (actual.to_kind(Kind::Double) - expected.to_kind(Kind::Double))
        .abs()
        .max()
        .double_value(&[]);
    assert!(diff <= 2e-6, "{what}: max |diff| {diff}");
}

fn run_case(case: &str, activation: Activation, loss: &str) {
    let f = fixtures();
    let get = |n: &str| f[&format!("{case}/{n}")].shallow_clone();
    let units = get("kernel0").size()[1];
    let mut model = Sequential::new();
    model
        .add(Dense::new(units).activation(activation).input_shape([4]))
        .unwrap();
    let dense = model.layers()[0].name().to_string();
    model
        .set_weights(&[
            (format!("{dense}/kernel"), get("kernel0")),
            (format!("{dense}/bias"), get("bias0")),
        ])
        .unwrap();
    model
        .compile(SGD::new().learning_rate(0.1), loss, ["accuracy"])
        .unwrap();
    let weights: Vec<f64> = Vec::<f32>::try_from(get("class_weight"))
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect();
    let history = model
        .fit(
            &get("x"),
            &get("y"),
            FitOptions::new()
                .epochs(2)
                .batch_size(4)
                .shuffle(false)
                .verbose(Verbosity::Silent)
                .class_weight(ClassWeight::new(weights).unwrap()),
        )
        .unwrap();
    let w: HashMap<String, Tensor> = model.get_weights().unwrap().into_iter().collect();
    assert_close(
        &w[&format!("{dense}/kernel")],
        &get("kernel"),
        &format!("{case} kernel"),
    );
    assert_close(
        &w[&format!("{dense}/bias")],
        &get("bias"),
        &format!("{case} bias"),
    );
    for key in ["loss", "accuracy"] {
        let ours = Tensor::from_slice(&history.history[key]).to_kind(Kind::Float);
        assert_close(&ours, &get(key), &format!("{case} history {key}"));
    }
}

#[test]
fn softmax_class_weight_matches_keras() {
    run_case(
        "softmax",
        Activation::Softmax,
        "sparse_categorical_crossentropy",
    );
}

#[test]
fn sigmoid_class_weight_matches_keras() {
    run_case("sigmoid", Activation::Sigmoid, "binary_crossentropy");
}

#[test]
fn class_weight_on_a_multi_output_model_is_refused() {
    let mut g = Graph::new();
    let x = g.input([4]);
    let a = g.apply(Dense::new(2), x).unwrap();
    let b = g.apply(Dense::new(2), x).unwrap();
    let mut m = g.model("two", &[x], &[a, b]).unwrap();
    m.compile_outputs(
        SGD::new(),
        vec![
            OutputLoss::new(Loss::MeanSquaredError),
            OutputLoss::new(Loss::MeanSquaredError),
        ],
    )
    .unwrap();
    let x = Tensor::zeros([4, 4], (Kind::Float, convkit_tensor::tch::Device::Cpu));
    let y = Tensor::zeros([4, 2], (Kind::Float, convkit_tensor::tch::Device::Cpu));
    let e = m
        .fit_multi(
            &[x],
            &[y.shallow_clone(), y],
            FitOptions::new().class_weight(ClassWeight::new(vec![1.0, 2.0]).unwrap()),
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("class_weight is only supported"), "{e}");
}
