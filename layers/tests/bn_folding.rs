//! Batch normalization folding: a functional model runs a convolution followed by an
//! inference-mode `BatchNormalization` as one convolution with a folded kernel. The result
//! must equal the two layers run one after the other (the layers' own forwards, which the
//! golden tests check against Keras), in inference, with a frozen BN while training, for
//! `Conv2D` and `DepthwiseConv2D`, with and without bias.

use convkit_layers::prelude::*;
use convkit_tensor::tch::{Device, Kind, Tensor};

/// conv (given) -> BN -> ReLU6 -> depthwise (no bias) -> BN -> add with the first BN.
fn model() -> Functional {
    let mut g = Graph::new();
    let inputs = g.input([3, 9, 9]);
    let x = g
        .apply(
            Conv2D::new(6, 3)
                .strides(2)
                .padding(Padding::Same)
                .named("conv"),
            inputs,
        )
        .unwrap();
    let x = g.apply(BatchNormalization::new().named("bn1"), x).unwrap();
    let a = g
        .apply(ReLU::new().max_value(6.0).named("relu"), x)
        .unwrap();
    let d = g
        .apply(
            DepthwiseConv2D::new(3)
                .padding(Padding::Same)
                .use_bias(false)
                .named("dw"),
            a,
        )
        .unwrap();
    let d = g.apply(BatchNormalization::new().named("bn2"), d).unwrap();
    let s = g.merge(Add::new(), &[d, x]).unwrap();
    g.model("folding", &[inputs], &[s]).unwrap()
}

/// Random, non-trivial BN statistics and affine parameters.
fn randomise_bn(m: &mut Functional) {
    let weights = m.get_weights().unwrap();
    let updated: Vec<(String, Tensor)> = weights
        .into_iter()
        .map(|(name, t)| {
            let r = Tensor::rand_like(&t);
            let v = if name.ends_with("moving_variance") {
                r * 2.0 + 0.1
            } else if name.contains("bn") {
                r * 2.0 - 1.0
            } else {
                t
            };
            (name, v)
        })
        .collect();
    m.set_weights(&updated).unwrap();
}

/// The same computation, layer by layer with each layer's own forward.
fn unfused(m: &Functional, x: &Tensor, training: bool) -> Tensor {
    let f = |name: &str, h: &Tensor| m.get_layer(name).unwrap().forward(h, training).unwrap();
    let bn1 = f("bn1", &f("conv", x));
    let bn2 = f("bn2", &f("dw", &f("relu", &bn1)));
    bn2 + bn1
}

#[test]
fn folded_inference_equals_layer_by_layer() {
    convkit_tensor::seed::set_seed(3);
    let mut m = model();
    randomise_bn(&mut m);
    let x = Tensor::randn([4, 3, 9, 9], (Kind::Float, Device::Cpu));
    let fused = m.forward(&x, false).unwrap();
    let reference = unfused(&m, &x, false);
    let diff = f64::try_from((&fused - &reference).abs().max()).unwrap();
    assert!(diff < 1e-5, "max difference {diff}");
}

#[test]
fn frozen_bn_folds_while_training_and_gradients_match() {
    convkit_tensor::seed::set_seed(4);
    let mut m = model();
    randomise_bn(&mut m);
    m.get_layer_mut("bn1").unwrap().set_trainable(false);
    m.get_layer_mut("bn2").unwrap().set_trainable(false);
    let x = Tensor::randn([2, 3, 9, 9], (Kind::Float, Device::Cpu));
    let mut kernel = m.get_layer("conv").unwrap().params()[0]
        .tensor
        .shallow_clone();
    let mut grad_of = |y: Tensor| {
        kernel.zero_grad();
        (y * 0.5).square().sum(Kind::Float).backward();
        kernel.grad().copy()
    };
    let g_fused = grad_of(m.forward(&x, true).unwrap());
    let g_ref = grad_of(unfused(&m, &x, true));
    let diff = f64::try_from((&g_fused - &g_ref).abs().max()).unwrap();
    let scale = f64::try_from(g_ref.abs().max()).unwrap();
    assert!(diff <= 1e-5 * scale.max(1.0), "gradient differs by {diff}");
}

#[test]
fn no_folding_when_the_conv_output_is_asked_for() {
    convkit_tensor::seed::set_seed(5);
    let mut m = model();
    randomise_bn(&mut m);
    let x = Tensor::randn([2, 3, 9, 9], (Kind::Float, Device::Cpu));
    let [conv, bn1] = m
        .layer_outputs(&x, &["conv", "bn1"], false)
        .unwrap()
        .try_into()
        .unwrap();
    let expected = m.get_layer("bn1").unwrap().forward(&conv, false).unwrap();
    assert!(bn1.allclose(&expected, 1e-5, 1e-6, false));
    let direct = m.get_layer("conv").unwrap().forward(&x, false).unwrap();
    assert!(conv.allclose(&direct, 0.0, 0.0, false));
}
