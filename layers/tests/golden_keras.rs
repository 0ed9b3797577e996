//! Golden tests against Keras 3 (torch backend).
//!
//! Fixtures: `layers/tests/fixtures/keras_layers.safetensors`, produced by
//! `KERAS_BACKEND=torch .venv/bin/python scripts/fixtures/make_keras_golden.py` (Keras 3.15.1).
//! Each case `<case>/...` holds the input, weights and output of the Keras snippet named in the
//! script's docstring, e.g. `conv2d_same_stride2` is
//! `keras.layers.Conv2D(4, 3, strides=2, padding="same")(x)` with x of shape (2, 7, 8, 3).
//! Keras tensors are NHWC with kernels (kh, kw, in, out); convkit is NCHW with kernels
//! (out, in, kh, kw), so the tests transpose. Tolerance: |a - b| <= 1e-5 * |b| + 1e-6.

use std::collections::HashMap;

use convkit_layers::prelude::*;
use convkit_layers::Pair;
use convkit_tensor::tch::{Device, Kind, Tensor};

fn fixtures() -> HashMap<String, Tensor> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/keras_layers.safetensors"
    );
    Tensor::read_safetensors(path)
        .unwrap()
        .into_iter()
        .collect()
}

fn get(f: &HashMap<String, Tensor>, case: &str, name: &str) -> Tensor {
    f.get(&format!("{case}/{name}"))
        .unwrap_or_else(|| panic!("fixture {case}/{name} missing"))
        .shallow_clone()
}

fn nhwc_to_nchw(t: &Tensor) -> Tensor {
    t.permute([0, 3, 1, 2]).contiguous()
}

fn assert_close(actual: &Tensor, expected: &Tensor, what: &str) {
    assert_eq!(actual.size(), expected.size(), "{what}: shape");
    let a = actual.to_kind(Kind::Double);
    let e = expected.to_kind(Kind::Double);
    let excess = ((&a - &e).abs() - (e.abs() * 1e-5 + 1e-6))
        .max()
        .double_value(&[]);
    let max_diff = (&a - &e).abs().max().double_value(&[]);
    assert!(
        excess <= 0.0,
        "{what}: max |diff| {max_diff} exceeds rtol 1e-5"
    );
}

fn set_param(layer: &mut dyn Layer, name: &str, value: &Tensor) {
    let p = layer
        .params_mut()
        .into_iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no param {name}"));
    convkit_tensor::tch::no_grad(|| p.tensor.shallow_clone().copy_(value));
}

fn chw_of(x_nhwc: &Tensor) -> Vec<i64> {
    let s = x_nhwc.size();
    vec![s[3], s[1], s[2]]
}

fn check_conv(case: &str, conv: Conv2D) {
    let f = fixtures();
    let x = get(&f, case, "x");
    let mut conv = conv;
    conv.build(&chw_of(&x), Device::Cpu).unwrap();
    set_param(
        &mut conv,
        "kernel",
        &get(&f, case, "kernel").permute([3, 2, 0, 1]),
    );
    if f.contains_key(&format!("{case}/bias")) {
        set_param(&mut conv, "bias", &get(&f, case, "bias"));
    }
    let y = conv.forward(&nhwc_to_nchw(&x), false).unwrap();
    assert_close(&y, &nhwc_to_nchw(&get(&f, case, "y")), case);
}

#[test]
fn conv2d_matches_keras() {
    check_conv("conv2d_valid", Conv2D::new(4, 3));
    check_conv("conv2d_same", Conv2D::new(4, 3).padding(Padding::Same));
    check_conv(
        "conv2d_same_stride2",
        Conv2D::new(4, 3).strides(2).padding(Padding::Same),
    );
    check_conv(
        "conv2d_same_stride2_k4",
        Conv2D::new(4, 4).strides(2).padding(Padding::Same),
    );
    check_conv(
        "conv2d_valid_stride2_k2x3",
        Conv2D::new(4, (2, 3)).strides((2, 1)),
    );
    check_conv("conv2d_dilation2", Conv2D::new(4, 3).dilation_rate(2));
    check_conv(
        "conv2d_relu_nobias",
        Conv2D::new(4, 3)
            .activation(Activation::Relu)
            .use_bias(false),
    );
}

fn check_stateless(case: &str, mut layer: Box<dyn Layer>, expected_name: &str, images: bool) {
    let f = fixtures();
    let x = get(&f, case, "x");
    let (input, shape) = if images {
        (nhwc_to_nchw(&x), chw_of(&x))
    } else {
        (x.shallow_clone(), x.size()[1..].to_vec())
    };
    layer.build(&shape, Device::Cpu).unwrap();
    let y = layer.forward(&input, false).unwrap();
    let expected = get(&f, case, expected_name);
    let expected = if images && expected.dim() == 4 {
        nhwc_to_nchw(&expected)
    } else {
        expected
    };
    assert_close(&y, &expected, case);
}

#[test]
fn pooling_matches_keras() {
    check_stateless("maxpool_2", Box::new(MaxPooling2D::new(2)), "y", true);
    check_stateless(
        "maxpool_3_s2_same",
        Box::new(MaxPooling2D::new(3).strides(2).padding(Padding::Same)),
        "y",
        true,
    );
    check_stateless("avgpool_2", Box::new(AveragePooling2D::new(2)), "y", true);
    // Symmetric 'same' padding: equal to Keras torch output.
    check_stateless(
        "avgpool_2_same",
        Box::new(AveragePooling2D::new(2).padding(Padding::Same)),
        "y",
        true,
    );
    // Asymmetric 'same' padding: Keras' torch backend replicates edges (a backend quirk); TF and
    // JAX average the real cells only. convkit follows TF/JAX: compare with `y_exclude_pad`.
    check_stateless(
        "avgpool_3_s2_same",
        Box::new(AveragePooling2D::new(3).strides(2).padding(Padding::Same)),
        "y_exclude_pad",
        true,
    );
    check_stateless("gap", Box::new(GlobalAveragePooling2D::new()), "y", true);
}

#[test]
fn dense_flatten_dropout_match_keras() {
    let f = fixtures();
    let mut dense = Dense::new(3);
    dense.build(&[5], Device::Cpu).unwrap();
    set_param(&mut dense, "kernel", &get(&f, "dense", "kernel"));
    set_param(&mut dense, "bias", &get(&f, "dense", "bias"));
    assert_close(
        &dense.forward(&get(&f, "dense", "x"), false).unwrap(),
        &get(&f, "dense", "y"),
        "dense",
    );

    // Flatten: Keras flattens NHWC; on the same (2,3,4,5) tensor taken as-is the order is the same.
    check_stateless("flatten", Box::new(Flatten::new()), "y", false);
    check_stateless("dropout_infer", Box::new(Dropout::new(0.5)), "y", false);
}

#[test]
fn activations_match_keras() {
    for (case, act) in [
        ("act_relu", Activation::Relu),
        ("act_sigmoid", Activation::Sigmoid),
        ("act_softmax", Activation::Softmax),
        ("act_tanh", Activation::Tanh),
        ("act_elu", Activation::Elu),
        ("act_gelu", Activation::Gelu),
        ("act_relu6", Activation::Relu6),
        ("act_linear", Activation::Linear),
    ] {
        check_stateless(case, Box::new(ActivationLayer::new(act)), "y", false);
    }
}

#[test]
fn batch_normalization_matches_keras_in_training_and_inference() {
    let f = fixtures();
    for case in ["batchnorm_train", "batchnorm_infer"] {
        let x = get(&f, case, "x");
        let mut bn = BatchNormalization::new();
        bn.build(&chw_of(&x), Device::Cpu).unwrap();
        for p in ["gamma", "beta", "moving_mean", "moving_variance"] {
            set_param(&mut bn, p, &get(&f, case, p));
        }
        let training = case == "batchnorm_train";
        let y = bn.forward(&nhwc_to_nchw(&x), training).unwrap();
        assert_close(&y, &nhwc_to_nchw(&get(&f, case, "y")), case);
        if training {
            let params = bn.params();
            assert_close(
                &params[2].tensor,
                &get(&f, case, "moving_mean_after"),
                "moving_mean after one training call",
            );
            assert_close(
                &params[3].tensor,
                &get(&f, case, "moving_variance_after"),
                "moving_variance after one training call",
            );
        }
    }
}

#[test]
fn frozen_batch_normalization_runs_in_inference_mode() {
    let f = fixtures();
    let x = get(&f, "batchnorm_infer", "x");
    let mut bn = BatchNormalization::new();
    bn.build(&chw_of(&x), Device::Cpu).unwrap();
    for p in ["gamma", "beta", "moving_mean", "moving_variance"] {
        set_param(&mut bn, p, &get(&f, "batchnorm_infer", p));
    }
    bn.set_trainable(false);
    let y = bn.forward(&nhwc_to_nchw(&x), true).unwrap();
    assert_close(
        &y,
        &nhwc_to_nchw(&get(&f, "batchnorm_infer", "y")),
        "frozen BN with training=true",
    );
}

#[test]
fn losses_match_keras() {
    let f = fixtures();
    for (case, loss) in [
        (
            "loss_binary_crossentropy",
            Loss::BinaryCrossentropy { from_logits: false },
        ),
        (
            "loss_binary_crossentropy_logits",
            Loss::BinaryCrossentropy { from_logits: true },
        ),
        (
            "loss_categorical_crossentropy",
            Loss::CategoricalCrossentropy { from_logits: false },
        ),
        (
            "loss_categorical_crossentropy_logits",
            Loss::CategoricalCrossentropy { from_logits: true },
        ),
        (
            "loss_sparse_categorical_crossentropy",
            Loss::SparseCategoricalCrossentropy { from_logits: false },
        ),
        (
            "loss_sparse_categorical_crossentropy_logits",
            Loss::SparseCategoricalCrossentropy { from_logits: true },
        ),
        ("loss_mse", Loss::MeanSquaredError),
        ("loss_mae", Loss::MeanAbsoluteError),
    ] {
        let v = loss
            .compute(&get(&f, case, "y_true"), &get(&f, case, "y_pred"))
            .unwrap();
        assert_close(&v, &get(&f, case, "loss"), case);
    }
}

#[test]
fn metrics_match_keras() {
    let f = fixtures();
    let k = |case: &str| get(&f, case, "k").int64_value(&[]);
    for (case, metric) in [
        ("metric_binary_accuracy", Metric::BinaryAccuracy),
        ("metric_categorical_accuracy", Metric::CategoricalAccuracy),
        (
            "metric_sparse_categorical_accuracy",
            Metric::SparseCategoricalAccuracy,
        ),
        (
            "metric_top_k_categorical_accuracy",
            Metric::TopKCategoricalAccuracy(k("metric_top_k_categorical_accuracy")),
        ),
        (
            "metric_sparse_top_k_categorical_accuracy",
            Metric::SparseTopKCategoricalAccuracy(k("metric_sparse_top_k_categorical_accuracy")),
        ),
    ] {
        let v = metric
            .per_sample(&get(&f, case, "y_true"), &get(&f, case, "y_pred"))
            .unwrap()
            .mean(Kind::Float);
        assert_close(&v, &get(&f, case, "value"), case);
    }
    // "accuracy" resolves from the loss, as Keras' "acc".
    assert_eq!(
        Metric::Accuracy.resolve(&Loss::BinaryCrossentropy { from_logits: false }),
        Metric::BinaryAccuracy
    );
    assert_eq!(
        Metric::Accuracy.resolve(&Loss::CategoricalCrossentropy { from_logits: false }),
        Metric::CategoricalAccuracy
    );
    assert_eq!(
        Metric::Accuracy.resolve(&Loss::SparseCategoricalCrossentropy { from_logits: true }),
        Metric::SparseCategoricalAccuracy
    );
    let _ = Pair(1, 1);
}
