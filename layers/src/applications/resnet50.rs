//! ResNet50 (He et al., 2015), layer for layer as `keras.applications.ResNet50`
//! (`keras/src/applications/resnet.py`, the v1 residual blocks).

use convkit_tensor::tch::{Device, Tensor};

use crate::layers::{
    ActivationLayer, Add, BatchNormalization, Conv2D, GlobalAveragePooling2D, MaxPooling2D,
    ZeroPadding2D,
};
use crate::models::functional::{Functional, Graph, SymbolicTensor};
use crate::{Activation, LayerBuilder, Padding, Result};

use super::ApplicationConfig;

/// Keras' BatchNormalization epsilon in ResNet.
const BN_EPSILON: f64 = 1.001e-5;

fn conv_bn(
    g: &mut Graph,
    filters: i64,
    kernel: i64,
    stride: i64,
    name: &str,
    x: SymbolicTensor,
) -> Result<SymbolicTensor> {
    let conv = Conv2D::new(filters, kernel)
        .strides(stride)
        .padding(if kernel > 1 {
            Padding::Same
        } else {
            Padding::Valid
        })
        .named(format!("{name}_conv"));
    let x = g.apply(conv, x)?;
    g.apply(
        BatchNormalization::new()
            .epsilon(BN_EPSILON)
            .named(format!("{name}_bn")),
        x,
    )
}

fn relu(g: &mut Graph, name: String, x: SymbolicTensor) -> Result<SymbolicTensor> {
    g.apply(ActivationLayer::new(Activation::Relu).named(name), x)
}

/// Keras' `residual_block_v1`: 1x1 (strided), 3x3, 1x1 to `4 * filters`, plus the shortcut
/// (a strided 1x1 convolution `_0_conv` when `conv_shortcut`, else the input).
fn block(
    g: &mut Graph,
    filters: i64,
    stride: i64,
    conv_shortcut: bool,
    name: &str,
    x: SymbolicTensor,
) -> Result<SymbolicTensor> {
    let shortcut = if conv_shortcut {
        conv_bn(g, 4 * filters, 1, stride, &format!("{name}_0"), x)?
    } else {
        x
    };
    let y = conv_bn(g, filters, 1, stride, &format!("{name}_1"), x)?;
    let y = relu(g, format!("{name}_1_relu"), y)?;
    let y = conv_bn(g, filters, 3, 1, &format!("{name}_2"), y)?;
    let y = relu(g, format!("{name}_2_relu"), y)?;
    let y = conv_bn(g, 4 * filters, 1, 1, &format!("{name}_3"), y)?;
    let y = g.merge(Add::new().named(format!("{name}_add")), &[shortcut, y])?;
    relu(g, format!("{name}_out"), y)
}

/// ResNet50: `conv1` (7x7/2 after `conv1_pad`), `pool1` (3x3/2 after `pool1_pad`), stacks
/// `conv2` .. `conv5` of 3, 4, 6 and 3 bottleneck blocks (`conv2_block1_0_conv`...), then
/// optionally `avg_pool` and `predictions`. 25,636,712 parameters with the top, 23,587,712
/// without. Layer names are Keras', so Keras' weight file
/// (`resnet50_weights_tf_dim_ordering_tf_kernels.h5`) maps by name; feed it
/// [`preprocess_input`] images.
pub fn resnet50(config: &ApplicationConfig, device: Device) -> Result<Functional> {
    let mut g = Graph::new().on_device(device);
    let inputs = g.input(config.shape_or(224));
    let x = g.apply(ZeroPadding2D::new(3).named("conv1_pad"), inputs)?;
    let conv = Conv2D::new(64, 7).strides(2).named("conv1_conv");
    let x = g.apply(conv, x)?;
    let bn = BatchNormalization::new()
        .epsilon(BN_EPSILON)
        .named("conv1_bn");
    let x = g.apply(bn, x)?;
    let x = relu(&mut g, "conv1_relu".into(), x)?;
    let x = g.apply(ZeroPadding2D::new(1).named("pool1_pad"), x)?;
    let pool = MaxPooling2D::new(3).strides(2).named("pool1_pool");
    let mut x = g.apply(pool, x)?;
    for (stack, filters, blocks, stride) in [
        (2, 64, 3, 1),
        (3, 128, 4, 2),
        (4, 256, 6, 2),
        (5, 512, 3, 2),
    ] {
        for b in 1..=blocks {
            let name = format!("conv{stack}_block{b}");
            x = if b == 1 {
                block(&mut g, filters, stride, true, &name, x)?
            } else {
                block(&mut g, filters, 1, false, &name, x)?
            };
        }
    }
    let x = config.top(&mut g, x, |g, x| {
        g.apply(GlobalAveragePooling2D::new().named("avg_pool"), x)
    })?;
    g.model("resnet50", &[inputs], &[x])
}

/// Keras' `resnet.preprocess_input` ("caffe" mode, as VGG16's): RGB `[0, 255]` NCHW -> BGR
/// minus the ImageNet channel means.
pub fn preprocess_input(x: &Tensor) -> Result<Tensor> {
    super::vgg16::preprocess_input(x)
}
