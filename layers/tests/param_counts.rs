//! Parameter counts of the book's models, which equal Keras' `model.summary()`.

use convkit_layers::prelude::*;

fn mnist_conv_base() -> Sequential {
    let mut m = Sequential::new();
    m.add(
        Conv2D::new(32, 3)
            .activation(Activation::Relu)
            .input_shape([1, 28, 28]),
    )
    .unwrap();
    m.add(MaxPooling2D::new(2)).unwrap();
    m.add(Conv2D::new(64, 3).activation(Activation::Relu))
        .unwrap();
    m.add(MaxPooling2D::new(2)).unwrap();
    m.add(Conv2D::new(64, 3).activation(Activation::Relu))
        .unwrap();
    m
}

#[test]
fn mnist_convnet_counts_55744_then_93322() {
    let mut m = mnist_conv_base();
    let s = m.summary();
    assert_eq!(s.total_params, 55_744);
    assert_eq!(
        s.rows.last().unwrap().output_shape.as_deref(),
        Some(&[64, 3, 3][..])
    );
    m.add(Flatten::new()).unwrap();
    m.add(Dense::new(64).activation(Activation::Relu)).unwrap();
    m.add(Dense::new(10).activation(Activation::Softmax))
        .unwrap();
    let s = m.summary();
    assert_eq!(s.total_params, 93_322);
    assert_eq!(s.trainable_params, 93_322);
    assert_eq!(s.non_trainable_params, 0);
    let names: Vec<&str> = s.rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "conv2d",
            "max_pooling2d",
            "conv2d_1",
            "max_pooling2d_1",
            "conv2d_2",
            "flatten",
            "dense",
            "dense_1"
        ]
    );
    let text = s.to_string();
    assert!(text.contains("│ conv2d (Conv2D)"), "{text}");
    assert!(text.contains("(None, 32, 26, 26)"), "{text}");
    assert!(text.contains(" Total params: 93,322 (364.54 KB)"), "{text}");
}

#[test]
fn small_6_12_filter_net_counts_3730() {
    let mut m = Sequential::new();
    m.add(
        Conv2D::new(6, 3)
            .activation(Activation::Relu)
            .input_shape([1, 28, 28]),
    )
    .unwrap();
    m.add(MaxPooling2D::new(2)).unwrap();
    m.add(Conv2D::new(12, 3).activation(Activation::Relu))
        .unwrap();
    m.add(MaxPooling2D::new(2)).unwrap();
    m.add(Flatten::new()).unwrap();
    m.add(Dense::new(10).activation(Activation::Softmax))
        .unwrap();
    assert_eq!(m.summary().total_params, 3_730);
}

#[test]
fn cats_vs_dogs_net_counts_3453121() {
    let mut m = Sequential::new();
    m.add(
        Conv2D::new(32, 3)
            .activation(Activation::Relu)
            .input_shape([3, 150, 150]),
    )
    .unwrap();
    m.add(MaxPooling2D::new(2)).unwrap();
    for f in [64, 128, 128] {
        m.add(Conv2D::new(f, 3).activation(Activation::Relu))
            .unwrap();
        m.add(MaxPooling2D::new(2)).unwrap();
    }
    m.add(Flatten::new()).unwrap();
    m.add(Dense::new(512).activation(Activation::Relu)).unwrap();
    m.add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap();
    let s = m.summary();
    assert_eq!(s.total_params, 3_453_121);
    assert_eq!(s.rows[7].output_shape.as_deref(), Some(&[128, 7, 7][..]));
}

#[test]
fn batchnorm_statistics_and_frozen_layers_are_non_trainable() {
    let mut m = Sequential::new();
    m.add(Conv2D::new(8, 3).input_shape([3, 8, 8])).unwrap();
    m.add(BatchNormalization::new()).unwrap();
    m.add(Flatten::new()).unwrap();
    m.add(Dense::new(2).with_trainable(false)).unwrap();
    let s = m.summary();
    // conv 8*3*9+8 = 224, BN 4*8 = 32 (16 trainable), dense 288*2+2 = 578 (frozen)
    assert_eq!(s.total_params, 224 + 32 + 578);
    assert_eq!(s.trainable_params, 224 + 16);
    assert_eq!(s.non_trainable_params, 16 + 578);
}
