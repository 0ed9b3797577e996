//! The book's small convnet for cats vs dogs, trained from scratch.

use convkit_tensor::tch::Device;

use super::ClassifierTop;
use crate::layers::{Conv2D, Dense, Dropout, Flatten, MaxPooling2D};
use crate::{Activation, LayerBuilder, Result, Sequential};

/// Conv2D(32) - MaxPool - Conv2D(64) - MaxPool - Conv2D(128) - MaxPool - Conv2D(128) -
/// MaxPool - Flatten - [Dropout(0.5)] - Dense(512, relu) - Dense(1, sigmoid), 3x3 kernels,
/// for `size x size` RGB inputs (3,453,121 parameters at 150x150).
///
/// # Shapes
/// `(N, 3, size, size)` -> `(N, 1)`; `size` must be at least 46.
pub fn small_convnet(size: i64, dropout: Option<f64>, device: Device) -> Result<Sequential> {
    small_convnet_classifier(size, ClassifierTop::BINARY, dropout, device)
}

/// [`small_convnet`] ending in `top` instead of `Dense(1, sigmoid)`: the same four blocks
/// for any number of classes.
///
/// # Shapes
/// `(N, 3, size, size)` -> `(N, top.units)`.
pub fn small_convnet_classifier(
    size: i64,
    top: ClassifierTop,
    dropout: Option<f64>,
    device: Device,
) -> Result<Sequential> {
    let mut m = Sequential::new().on_device(device);
    m.add(
        Conv2D::new(32, 3)
            .activation(Activation::Relu)
            .input_shape([3, size, size]),
    )?;
    m.add(MaxPooling2D::new(2))?;
    for filters in [64, 128, 128] {
        m.add(Conv2D::new(filters, 3).activation(Activation::Relu))?;
        m.add(MaxPooling2D::new(2))?;
    }
    m.add(Flatten::new())?;
    if let Some(rate) = dropout {
        m.add(Dropout::new(rate))?;
    }
    m.add(Dense::new(512).activation(Activation::Relu))?;
    m.add(top.dense())?;
    Ok(m)
}
