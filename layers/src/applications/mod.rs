//! Ready-made architectures (Keras' `keras.applications` and the book's reference models).

mod book_convnets;
mod classifier_top;
pub mod efficientnet_lite;
pub mod imagenet;
mod mnist_convnet;
pub mod resnet50;
mod small_convnet;
pub mod vgg16;
pub mod xception;

pub use book_convnets::{
    book_augmentation, mini_xception, mini_xception_classifier, residual_block, residual_example,
    segmentation_model,
};
pub use classifier_top::ClassifierTop;
pub use efficientnet_lite::efficientnet_lite0;
pub use imagenet::{decode_predictions, Prediction};
pub use mnist_convnet::mnist_convnet;
pub use resnet50::resnet50;
pub use small_convnet::{small_convnet, small_convnet_classifier};
pub use vgg16::vgg16;
pub use xception::xception;

use crate::layers::{Dense, GlobalAveragePooling2D, GlobalMaxPooling2D};
use crate::models::functional::{Graph, SymbolicTensor};
use crate::{Activation, LayerBuilder, Result};

/// The arguments every `keras.applications` constructor takes: `include_top`,
/// `input_shape`, `pooling`, `classes`, `classifier_activation`.
///
/// # Example
/// ```
/// use convkit_layers::applications::{vgg16, ApplicationConfig, Pooling};
/// # fn main() -> convkit_layers::Result<()> {
/// // The book's conv_base: VGG16 without its classifier, for 150x150 images.
/// let conv_base = vgg16(&ApplicationConfig::base(150, 150), convkit_tensor::tch::Device::Cpu)?;
/// let features = ApplicationConfig::base(224, 224).pooling(Pooling::Avg);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ApplicationConfig {
    /// Keep the ImageNet classifier (it needs the architecture's own input size).
    pub include_top: bool,
    /// Input shape `(3, H, W)`; `None` is the architecture's ImageNet size (224x224,
    /// Xception 299x299).
    pub input_shape: Option<[i64; 3]>,
    /// What follows the convolutional base when `include_top` is false.
    pub pooling: Pooling,
    /// Classes of the `predictions` layer.
    pub classes: i64,
    /// Activation of `predictions` (softmax; `Linear` gives logits).
    pub classifier_activation: Activation,
}

impl Default for ApplicationConfig {
    /// Keras' defaults: the ImageNet classifier, 1000 classes, softmax.
    fn default() -> Self {
        ApplicationConfig {
            include_top: true,
            input_shape: None,
            pooling: Pooling::None,
            classes: 1000,
            classifier_activation: Activation::Softmax,
        }
    }
}

impl ApplicationConfig {
    /// Keras' defaults (the ImageNet classifier).
    pub fn new() -> Self {
        Self::default()
    }
    /// The convolutional base only, for `(3, h, w)` inputs (the book's `conv_base`).
    pub fn base(h: i64, w: i64) -> Self {
        Self::default().include_top(false).input_shape([3, h, w])
    }
    /// Keeps or leaves out the classifier.
    pub fn include_top(mut self, include_top: bool) -> Self {
        self.include_top = include_top;
        self
    }
    /// Sets the input shape `(3, H, W)`.
    pub fn input_shape(mut self, shape: [i64; 3]) -> Self {
        self.input_shape = Some(shape);
        self
    }
    /// Sets the pooling after the base.
    pub fn pooling(mut self, pooling: Pooling) -> Self {
        self.pooling = pooling;
        self
    }
    /// Sets the number of classes of `predictions`.
    pub fn classes(mut self, classes: i64) -> Self {
        self.classes = classes;
        self
    }
    /// Sets the activation of `predictions`.
    pub fn classifier_activation(mut self, activation: Activation) -> Self {
        self.classifier_activation = activation;
        self
    }

    /// The input shape, `(3, side, side)` when not given.
    pub(crate) fn shape_or(&self, side: i64) -> [i64; 3] {
        self.input_shape.unwrap_or([3, side, side])
    }

    /// The end of an application after its convolutional base `x`: with `include_top`, the
    /// architecture's `classifier` then `predictions`; without, the pooling.
    pub(crate) fn top(
        &self,
        g: &mut Graph,
        x: SymbolicTensor,
        classifier: impl FnOnce(&mut Graph, SymbolicTensor) -> Result<SymbolicTensor>,
    ) -> Result<SymbolicTensor> {
        if !self.include_top {
            return apply_pooling(g, self.pooling, x);
        }
        let x = classifier(g, x)?;
        let head = Dense::new(self.classes)
            .activation(self.classifier_activation)
            .named("predictions");
        g.apply(head, x)
    }
}

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
