//! VGG16 (Simonyan & Zisserman), with Keras' layer names.

use convkit_tensor::tch::{Device, Kind, Tensor};

use crate::layers::{Conv2D, Dense, Flatten, MaxPooling2D};
use crate::models::functional::{Functional, Graph};
use crate::{Activation, LayerBuilder, Padding, Result};

use super::ApplicationConfig;

/// VGG16: five blocks of 3x3 convolutions (`block1_conv1` .. `block5_conv3`) and max pooling
/// (`block1_pool` .. `block5_pool`), then optionally `flatten`, `fc1`, `fc2`, `predictions`.
/// 14,714,688 parameters without the top, 138,357,544 with it.
///
/// Weights: ImageNet weights come as torchvision's `vgg16` state dict (see
/// [`crate::saving::import`]); with them, feed [`preprocess_input_torch`] images.
pub fn vgg16(config: &ApplicationConfig, device: Device) -> Result<Functional> {
    let mut g = Graph::new().on_device(device);
    let inputs = g.input(config.shape_or(224));
    let mut x = inputs;
    for (block, (filters, convs)) in [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]
        .into_iter()
        .enumerate()
    {
        for c in 1..=convs {
            let conv = Conv2D::new(filters, 3)
                .activation(Activation::Relu)
                .padding(Padding::Same)
                .named(format!("block{}_conv{c}", block + 1));
            x = g.apply(conv, x)?;
        }
        let pool = MaxPooling2D::new(2)
            .strides(2)
            .named(format!("block{}_pool", block + 1));
        x = g.apply(pool, x)?;
    }
    let x = config.top(&mut g, x, |g, x| {
        let x = g.apply(Flatten::new().named("flatten"), x)?;
        let fc = |name: &str| Dense::new(4096).activation(Activation::Relu).named(name);
        let x = g.apply(fc("fc1"), x)?;
        g.apply(fc("fc2"), x)
    })?;
    g.model("vgg16", &[inputs], &[x])
}

/// Keras' `vgg16.preprocess_input` ("caffe" mode): RGB `[0, 255]` NCHW -> BGR minus the
/// ImageNet channel means. For weights trained in Keras/Caffe.
pub fn preprocess_input(x: &Tensor) -> Result<Tensor> {
    let bgr = x.f_flip([1])?.f_to_kind(Kind::Float)?;
    let mean = Tensor::f_from_slice(&[103.939f32, 116.779, 123.68])?
        .f_view([1, 3, 1, 1])?
        .f_to_device(x.device())?;
    Ok(bgr.f_sub(&mean)?)
}

/// torchvision's normalisation: RGB `[0, 255]` NCHW -> `(x / 255 - mean) / std` with
/// ImageNet's mean `(0.485, 0.456, 0.406)` and std `(0.229, 0.224, 0.225)`. For
/// torchvision's weights.
pub fn preprocess_input_torch(x: &Tensor) -> Result<Tensor> {
    let dev = x.device();
    let mean = Tensor::f_from_slice(&[0.485f32, 0.456, 0.406])?
        .f_view([1, 3, 1, 1])?
        .f_to_device(dev)?;
    let std = Tensor::f_from_slice(&[0.229f32, 0.224, 0.225])?
        .f_view([1, 3, 1, 1])?
        .f_to_device(dev)?;
    Ok(x.f_to_kind(Kind::Float)?
        .f_div_scalar(255.0)?
        .f_sub(&mean)?
        .f_div(&std)?)
}
