//! The book's first convnet, for MNIST (93,322 parameters).

use convkit_tensor::tch::Device;

use crate::layers::{Conv2D, Dense, Flatten, MaxPooling2D};
use crate::{Activation, LayerBuilder, Result, Sequential};

/// Conv2D(32, 3, relu) - MaxPooling2D(2) - Conv2D(64, 3, relu) - MaxPooling2D(2) -
/// Conv2D(64, 3, relu) - Flatten - Dense(64, relu) - Dense(10, softmax), for `(1, 28, 28)`
/// inputs, built on `device`.
///
/// # Example
/// ```
/// use convkit_layers::ModelApi;
/// let m = convkit_layers::applications::mnist_convnet(convkit_tensor::tch::Device::Cpu).unwrap();
/// assert_eq!(m.summary().total_params, 93_322);
/// ```
pub fn mnist_convnet(device: Device) -> Result<Sequential> {
    let mut m = Sequential::new().on_device(device);
    m.add(
        Conv2D::new(32, 3)
            .activation(Activation::Relu)
            .input_shape([1, 28, 28]),
    )?;
    m.add(MaxPooling2D::new(2))?;
    m.add(Conv2D::new(64, 3).activation(Activation::Relu))?;
    m.add(MaxPooling2D::new(2))?;
    m.add(Conv2D::new(64, 3).activation(Activation::Relu))?;
    m.add(Flatten::new())?;
    m.add(Dense::new(64).activation(Activation::Relu))?;
    m.add(Dense::new(10).activation(Activation::Softmax))?;
    Ok(m)
}
