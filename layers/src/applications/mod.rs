//! Ready-made architectures (Keras' `keras.applications` and the book's reference models).

mod mnist_convnet;
mod small_convnet;

pub use mnist_convnet::mnist_convnet;
pub use small_convnet::small_convnet;
