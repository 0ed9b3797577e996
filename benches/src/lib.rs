//! Shared fixtures of convkit's benches: the models and batches they time.
#![warn(missing_docs)]

use convkit_layers::prelude::*;
use convkit_tensor::tch::{Device, Kind, Tensor};

/// The book's MNIST convnet (93,322 parameters), compiled with RMSprop and categorical
/// crossentropy.
pub fn mnist_convnet() -> convkit_layers::Result<Sequential> {
    let mut m = convkit_layers::applications::mnist_convnet(Device::Cpu)?;
    m.compile(
        RMSprop::new(),
        Loss::CategoricalCrossentropy { from_logits: false },
        &[Metric::Accuracy],
    )?;
    Ok(m)
}

/// A random MNIST-shaped batch: images `(n, 1, 28, 28)` in `[0, 1]` and one-hot targets.
pub fn mnist_batch(n: i64) -> (Tensor, Tensor) {
    let x = Tensor::rand([n, 1, 28, 28], (Kind::Float, Device::Cpu));
    let y = Tensor::randint(10, [n], (Kind::Int64, Device::Cpu))
        .one_hot(10)
        .to_kind(Kind::Float);
    (x, y)
}
