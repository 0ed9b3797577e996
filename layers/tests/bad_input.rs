//! Bad input gives errors that name the layer and the shapes, never panics.

use convkit_layers::prelude::*;
use convkit_tensor::tch::{Device, Kind, Tensor};

fn mnist_model() -> Sequential {
    let mut m = Sequential::new();
    m.add(
        Conv2D::new(4, 3)
            .activation(Activation::Relu)
            .input_shape([1, 28, 28]),
    )
    .unwrap();
    m.add(Flatten::new()).unwrap();
    m.add(Dense::new(10).activation(Activation::Softmax))
        .unwrap();
    m
}

#[test]
fn wrong_input_shape_names_the_layer_and_both_shapes() {
    let m = mnist_model();
    let x = Tensor::zeros([2, 3, 28, 28], (Kind::Float, Device::Cpu));
    let err = m.forward(&x, false).unwrap_err().to_string();
    assert!(err.contains("'conv2d' (Conv2D)"), "{err}");
    assert!(err.contains("(None, 1, 28, 28)"), "{err}");
    assert!(err.contains("(2, 3, 28, 28)"), "{err}");
}

#[test]
fn dense_on_images_says_to_flatten() {
    let mut m = Sequential::new();
    m.add(Conv2D::new(4, 3).input_shape([1, 8, 8])).unwrap();
    let err = m.add(Dense::new(3)).unwrap_err().to_string();
    assert!(
        err.contains("'dense' (Dense)") && err.contains("Flatten"),
        "{err}"
    );
}

#[test]
fn kernel_larger_than_input_is_an_error() {
    let mut m = Sequential::new();
    let err = m
        .add(Conv2D::new(4, 5).input_shape([1, 3, 3]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Conv2D") && err.contains("(None, 1, 3, 3)"),
        "{err}"
    );
}

#[test]
fn invalid_options_are_errors() {
    let mut m = Sequential::new();
    assert!(m.add(Conv2D::new(0, 3).input_shape([1, 8, 8])).is_err());
    let mut m = Sequential::new();
    let err = m
        .add(Dropout::new(1.5).input_shape([4]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("rate"), "{err}");
    let mut m = mnist_model();
    let err = m.add(Dense::new(2).named("dense")).unwrap_err().to_string();
    assert!(err.contains("already exists"), "{err}");
}

#[test]
fn wrong_targets_are_errors_with_hints() {
    let pred = Tensor::rand([4, 10], (Kind::Float, Device::Cpu));
    let labels = Tensor::from_slice(&[1i64, 2, 3, 4]);
    let err = Loss::CategoricalCrossentropy { from_logits: false }
        .compute(&labels, &pred)
        .unwrap_err()
        .to_string();
    assert!(err.contains("sparse_categorical_crossentropy"), "{err}");
    let bad = Tensor::from_slice(&[1i64, 2, 3, 12]);
    let err = Loss::SparseCategoricalCrossentropy { from_logits: false }
        .compute(&bad, &pred)
        .unwrap_err()
        .to_string();
    assert!(err.contains("[0, 10)"), "{err}");
}

#[test]
fn fit_before_compile_and_unbuilt_models_are_errors() {
    let mut m = mnist_model();
    let x = Tensor::zeros([2, 1, 28, 28], (Kind::Float, Device::Cpu));
    let y = Tensor::zeros([2, 10], (Kind::Float, Device::Cpu));
    let err = m.fit(&x, &y, FitOptions::new()).unwrap_err().to_string();
    assert!(err.contains("compile"), "{err}");
    let mut unbuilt = Sequential::new();
    unbuilt.add(Dense::new(3)).unwrap();
    let err = unbuilt
        .forward(&Tensor::zeros([1, 4], (Kind::Float, Device::Cpu)), false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not built"), "{err}");
    unbuilt.build([4]).unwrap();
    assert_eq!(
        unbuilt
            .forward(&Tensor::zeros([1, 4], (Kind::Float, Device::Cpu)), false)
            .unwrap()
            .size(),
        [1, 3]
    );
}
