//! The book's modern-convnet examples (Deep Learning with Python, 2nd ed., chapter 9): the
//! residual-block example and the mini-Xception for cats vs dogs.

use convkit_tensor::tch::Device;

use super::ClassifierTop;

use crate::layers::{
    ActivationLayer, Add, BatchNormalization, Conv2D, Conv2DTranspose, Dense, Dropout, FlipMode,
    GlobalAveragePooling2D, MaxPooling2D, RandomFlip, RandomRotation, RandomZoom, Rescaling,
    SeparableConv2D,
};
use crate::models::functional::{Functional, Graph, SymbolicTensor};
use crate::models::sequential::Sequential;
use crate::{Activation, Padding, Result};

/// The book's residual block: two 3x3 convolutions, then either max pooling with a strided
/// 1x1 projection of the residual, or a 1x1 projection when the filter count changes.
pub fn residual_block(
    g: &mut Graph,
    x: SymbolicTensor,
    filters: i64,
    pooling: bool,
) -> Result<SymbolicTensor> {
    let residual = x;
    let conv = || {
        Conv2D::new(filters, 3)
            .activation(Activation::Relu)
            .padding(Padding::Same)
    };
    let mut y = g.apply(conv(), x)?;
    y = g.apply(conv(), y)?;
    let residual = if pooling {
        y = g.apply(MaxPooling2D::new(2).padding(Padding::Same), y)?;
        g.apply(Conv2D::new(filters, 1).strides(2), residual)?
    } else if g.shape(residual).first() != Some(&filters) {
        g.apply(Conv2D::new(filters, 1), residual)?
    } else {
        residual
    };
    g.merge(Add::new(), &[y, residual])
}

/// The book's residual example: `(3, 32, 32)` inputs, Rescaling(1/255), residual blocks of
/// 32 (pooling), 64 (pooling) and 128 filters, GlobalAveragePooling2D, Dense(1, sigmoid).
pub fn residual_example(device: Device) -> Result<Functional> {
    let mut g = Graph::new().on_device(device);
    let inputs = g.input([3, 32, 32]);
    let mut x = g.apply(Rescaling::new(1.0 / 255.0), inputs)?;
    x = residual_block(&mut g, x, 32, true)?;
    x = residual_block(&mut g, x, 64, true)?;
    x = residual_block(&mut g, x, 128, false)?;
    x = g.apply(GlobalAveragePooling2D::new(), x)?;
    let out = g.apply(Dense::new(1).activation(Activation::Sigmoid), x)?;
    g.model("functional", &[inputs], &[out])
}

/// The book's data augmentation stage: RandomFlip("horizontal"), RandomRotation(0.1),
/// RandomZoom(0.2), as a `Sequential` model nested in the network.
pub fn book_augmentation(input_shape: [i64; 3], device: Device) -> Result<Sequential> {
    let mut s = Sequential::new()
        .on_device(device)
        .with_input_shape(input_shape);
    s.add(RandomFlip::new(FlipMode::Horizontal))?;
    s.add(RandomRotation::new(0.1))?;
    s.add(RandomZoom::new(0.2))?;
    Ok(s)
}

/// The book's mini-Xception for `(3, size, size)` images (180 in the book): augmentation,
/// Rescaling(1/255), Conv2D(32, 5), five residual blocks of separable convolutions with
/// BatchNormalization (32 to 512 filters), GlobalAveragePooling2D, Dropout(0.5),
/// Dense(1, sigmoid).
pub fn mini_xception(size: i64, device: Device) -> Result<Functional> {
    mini_xception_classifier(size, ClassifierTop::BINARY, true, device)
}

/// [`mini_xception`] ending in `top`, with or without its augmentation stage (it keeps its
/// `Rescaling(1/255)`: inputs are `[0, 255]` pixels either way).
///
/// # Shapes
/// `(N, 3, size, size)` -> `(N, top.units)`.
pub fn mini_xception_classifier(
    size: i64,
    top: ClassifierTop,
    augment: bool,
    device: Device,
) -> Result<Functional> {
    let mut g = Graph::new().on_device(device);
    let inputs = g.input([3, size, size]);
    let mut x = inputs;
    if augment {
        x = g.apply(book_augmentation([3, size, size], device)?, x)?;
    }
    x = g.apply(Rescaling::new(1.0 / 255.0), x)?;
    x = g.apply(Conv2D::new(32, 5).use_bias(false), x)?;
    for filters in [32, 64, 128, 256, 512] {
        let residual = x;
        let sep = || {
            SeparableConv2D::new(filters, 3)
                .padding(Padding::Same)
                .use_bias(false)
        };
        x = g.apply(BatchNormalization::new(), x)?;
        x = g.apply(ActivationLayer::new(Activation::Relu), x)?;
        x = g.apply(sep(), x)?;
        x = g.apply(BatchNormalization::new(), x)?;
        x = g.apply(ActivationLayer::new(Activation::Relu), x)?;
        x = g.apply(sep(), x)?;
        x = g.apply(MaxPooling2D::new(3).strides(2).padding(Padding::Same), x)?;
        let projection = Conv2D::new(filters, 1)
            .strides(2)
            .padding(Padding::Same)
            .use_bias(false);
        let residual = g.apply(projection, residual)?;
        x = g.merge(Add::new(), &[x, residual])?;
    }
    x = g.apply(GlobalAveragePooling2D::new(), x)?;
    x = g.apply(Dropout::new(0.5), x)?;
    let out = g.apply(top.dense(), x)?;
    g.model("functional", &[inputs], &[out])
}

/// The book's segmentation model (`get_model(img_size, num_classes)`): Rescaling(1/255),
/// three strided Conv2D stages down (64, 128, 256 filters), three Conv2DTranspose stages up,
/// and a per-pixel softmax over `num_classes`.
pub fn segmentation_model(size: i64, num_classes: i64, device: Device) -> Result<Functional> {
    let mut g = Graph::new().on_device(device);
    let inputs = g.input([3, size, size]);
    let mut x = g.apply(Rescaling::new(1.0 / 255.0), inputs)?;
    let conv = |f: i64, s: i64| {
        Conv2D::new(f, 3)
            .strides(s)
            .activation(Activation::Relu)
            .padding(Padding::Same)
    };
    for f in [64, 128, 256] {
        x = g.apply(conv(f, 2), x)?;
        x = g.apply(conv(f, 1), x)?;
    }
    let up = |f: i64, s: i64| {
        Conv2DTranspose::new(f, 3)
            .strides(s)
            .activation(Activation::Relu)
            .padding(Padding::Same)
    };
    for f in [256, 128, 64] {
        x = g.apply(up(f, 1), x)?;
        x = g.apply(up(f, 2), x)?;
    }
    let out = g.apply(
        Conv2D::new(num_classes, 3)
            .activation(Activation::Softmax)
            .padding(Padding::Same),
        x,
    )?;
    g.model("segmentation", &[inputs], &[out])
}
