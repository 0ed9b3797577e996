//! Ready-made architectures (Keras' `keras.applications` and the book's reference models).

mod book_convnets;
pub mod efficientnet_lite;
pub mod imagenet;
mod mnist_convnet;
mod small_convnet;
pub mod vgg16;
pub mod xception;

pub use book_convnets::{
    book_augmentation, mini_xception, residual_block, residual_example, segmentation_model,
};
pub use efficientnet_lite::{efficientnet_lite0, EfficientNetLiteConfig};
pub use imagenet::{decode_predictions, Prediction};
pub use mnist_convnet::mnist_convnet;
pub use small_convnet::small_convnet;
pub use vgg16::{vgg16, Vgg16Config};
pub use xception::{xception, XceptionConfig};

use crate::layers::{GlobalAveragePooling2D, GlobalMaxPooling2D};
use crate::models::functional::{Graph, SymbolicTensor};
use crate::{LayerBuilder, Result};

/// What follows the convolutional base when the classifier is left out (Keras' `pooling`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pooling {
    /// The 4-D feature map itself.
    #[default]
    None,
    /// Global average pooling (`avg_pool`): a feature vector.
    Avg,
    /// Global max pooling (`max_pool`): a feature vector.
    Max,
}

fn apply_pooling(g: &mut Graph, pooling: Pooling, x: SymbolicTensor) -> Result<SymbolicTensor> {
    match pooling {
        Pooling::None => Ok(x),
        Pooling::Avg => g.apply(GlobalAveragePooling2D::new().named("avg_pool"), x),
        Pooling::Max => g.apply(GlobalMaxPooling2D::new().named("max_pool"), x),
    }
}
