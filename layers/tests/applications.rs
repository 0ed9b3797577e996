//! Parameter counts of the applications against Keras 3.
//!
//! The VGG16 and Xception totals are the ones `model.summary()` prints in Keras 3.15.1
//! (`keras.applications.VGG16(weights=None, include_top=False, input_shape=(150, 150, 3))`
//! etc.) and the book's tables; the frozen VGG16 + Flatten + Dense(12) is the figure.

use convkit_layers::applications::{
    efficientnet_lite0, resnet50, vgg16, xception, ApplicationConfig, Pooling,
};
use convkit_layers::prelude::*;
use convkit_tensor::tch::{Device, Kind};

#[test]
fn resnet50_counts_equal_keras() {
    // keras.applications.ResNet50(weights=None).count_params(): 25,636,712 with the top,
    // 23,587,712 without (Keras' documentation and resnet.py).
    let full = resnet50(&ApplicationConfig::default(), Device::Cpu).unwrap();
    assert_eq!(full.summary().total_params, 25_636_712);
    let base = resnet50(&ApplicationConfig::base(224, 224), Device::Cpu).unwrap();
    assert_eq!(base.summary().total_params, 23_587_712);
    assert_eq!(base.output_shape(), Some(vec![2048, 7, 7]));
    let names: Vec<&str> = base.layers().iter().map(|l| l.name()).collect();
    assert_eq!(names[1..4], ["conv1_pad", "conv1_conv", "conv1_bn"]);
    assert_eq!(*names.last().unwrap(), "conv5_block3_out");
}

#[test]
fn vgg16_counts_equal_keras() {
    let base = vgg16(&ApplicationConfig::base(150, 150), Device::Cpu).unwrap();
    assert_eq!(base.summary().total_params, 14_714_688);
    assert_eq!(base.output_shape(), Some(vec![512, 4, 4]));
    let names: Vec<&str> = base.layers().iter().map(|l| l.name()).collect();
    assert_eq!(names[0], "input_layer");
    assert_eq!(names[1], "block1_conv1");
    assert_eq!(*names.last().unwrap(), "block5_pool");

    let full = vgg16(&ApplicationConfig::default(), Device::Cpu).unwrap();
    assert_eq!(full.summary().total_params, 138_357_544);
    for n in ["fc1", "fc2", "predictions", "flatten"] {
        full.get_layer(n).unwrap();
    }
}

#[test]
fn frozen_vgg16_with_dense_head_counts_equal_keras() {
    let mut base = vgg16(&ApplicationConfig::base(150, 150), Device::Cpu).unwrap();
    base.set_trainable(false);
    let mut model = Sequential::new();
    model.add(base).unwrap();
    model.add(Flatten::new()).unwrap();
    model.add(Dense::new(12)).unwrap();
    let s = model.summary();
    assert_eq!(s.total_params, 14_813_004);
    assert_eq!(s.trainable_params, 98_316);
    assert_eq!(s.non_trainable_params, 14_714_688);
    // The optimizer sees only the head.
    assert_eq!(model.trainable_tensors().len(), 2);
    let text = s.to_string();
    assert!(text.contains("vgg16 (Functional)"), "{text}");

    // Unfreezing from block5_conv1 inside the nested model (the book's fine-tuning).
    let inner = model
        .get_layer_mut("vgg16")
        .unwrap()
        .as_model_mut()
        .unwrap();
    inner.set_trainable(true);
    inner.set_trainable_from("block5_conv1").unwrap();
    model.get_layer_mut("vgg16").unwrap().common_mut().trainable = true;
    let s = model.summary();
    // block5: 3 x (3*3*512*512 + 512) = 7,079,424, plus the head.
    assert_eq!(s.trainable_params, 7_079_424 + 98_316);
    // Changing trainable needs a recompile, as in Keras: the compiled list is fixed.
    assert_eq!(model.trainable_tensors().len(), 2 + 6);
}

#[test]
fn xception_counts_equal_keras() {
    let m = xception(&ApplicationConfig::default(), Device::Cpu).unwrap();
    let s = m.summary();
    assert_eq!(s.total_params, 22_910_480);
    m.get_layer("block14_sepconv2_act").unwrap();
    m.get_layer("batch_normalization_3").unwrap();
    m.get_layer("add_11").unwrap();
    assert_eq!(m.output_shape(), Some(vec![1000]));
}

#[test]
fn efficientnet_lite0_matches_the_pytorch_file_layout() {
    let m = efficientnet_lite0(&ApplicationConfig::default(), Device::Cpu).unwrap();
    // The .pth holds 4,694,073 scalars, of which 49 are `num_batches_tracked` counters
    // (one per BatchNorm) that Keras-style models do not keep.
    assert_eq!(m.count_params(), 4_694_073 - 49);
    assert_eq!(m.output_shape(), Some(vec![1000]));
    m.get_layer("block7a_project_bn").unwrap();
    m.get_layer("block6d_add").unwrap();
}

#[test]
fn max_pooling_ends_the_base_with_each_channels_maximum() {
    convkit_tensor::seed::set_seed(3);
    let mut plain = ApplicationConfig::base(32, 32);
    let base = vgg16(&plain, Device::Cpu).unwrap();
    plain.pooling = Pooling::Max;
    let mut pooled = vgg16(&plain, Device::Cpu).unwrap();
    let names: Vec<&str> = pooled.layers().iter().map(|l| l.name()).collect();
    assert_eq!(*names.last().unwrap(), "max_pool");
    assert_eq!(pooled.output_shape(), Some(vec![512]));
    // Same weights in both (global pooling has none), so the pooled output is the maximum
    // of the plain base's feature map over height and width.
    let dir = tempfile::tempdir().unwrap();
    save_weights(&base, &dir.path().join("w.safetensors")).unwrap();
    load_weights(&mut pooled, &dir.path().join("w.safetensors")).unwrap();
    let x = convkit_tensor::tch::Tensor::rand([2, 3, 32, 32], (Kind::Float, Device::Cpu)) * 255.0;
    let map = base.predict(&x, 2).unwrap();
    let want = map.amax([2i64, 3].as_slice(), false);
    let got = pooled.predict(&x, 2).unwrap();
    assert_eq!(got.size(), vec![2, 512]);
    assert!(got.allclose(&want, 1e-6, 1e-6, false));
    assert!(
        f64::try_from(want.abs().max()).unwrap() > 0.0,
        "all-zero features"
    );

    // The layer survives save and load.
    save_model(&pooled, &dir.path().join("pooled")).unwrap();
    let loaded = load_model(&dir.path().join("pooled"), Device::Cpu).unwrap();
    assert!(loaded
        .predict(&x, 2)
        .unwrap()
        .allclose(&got, 1e-6, 1e-6, false));
}
