//! The layers, one per file, as in Keras' `keras/src/layers/`.

/// Implements `common`/`common_mut` for a layer whose settings live in `self.config.common`.
macro_rules! common_accessors {
    () => {
        fn common(&self) -> &$crate::layers::layer::LayerCommon {
            &self.config.common
        }
        fn common_mut(&mut self) -> &mut $crate::layers::layer::LayerCommon {
            &mut self.config.common
        }
    };
}

/// Implements `build` and `built_input_shape` for a layer without parameters that keeps its
/// input shape in `self.input_shape`.
macro_rules! parameterless_build {
    () => {
        fn build(
            &mut self,
            input_shape: &[i64],
            _device: convkit_tensor::tch::Device,
        ) -> $crate::Result<Vec<i64>> {
            let out = self.compute_output_shape(input_shape)?;
            self.input_shape = Some(input_shape.to_vec());
            Ok(out)
        }
        fn built_input_shape(&self) -> Option<&[i64]> {
            self.input_shape.as_deref()
        }
    };
}

pub mod activation;
pub mod activations;
pub mod average_pooling2d;
pub mod batch_normalization;
pub mod conv2d;
pub mod conv2d_transpose;
mod conv_common;
pub mod conv_options;
pub mod dense;
pub mod depthwise_conv2d;
pub mod dropout;
pub mod flatten;
pub mod global_average_pooling2d;
pub mod global_max_pooling2d;
pub mod global_pooling_common;
pub mod initializers;
mod kernel_bias;
pub mod layer;
pub mod max_pooling2d;
pub mod merging;
pub mod padding;
pub mod pooling_common;
pub mod preprocessing;
pub mod registry;
pub mod regularizers;
pub mod relu;
pub mod resize_common;
pub mod resizing;
pub mod separable_conv2d;
pub mod up_sampling2d;
pub mod zero_padding2d;

pub use activation::ActivationLayer;
pub use average_pooling2d::AveragePooling2D;
pub use batch_normalization::BatchNormalization;
pub use conv2d::Conv2D;
pub use conv2d_transpose::Conv2DTranspose;
pub use conv_options::{ConvWindow, UnitOptions};
pub use dense::Dense;
pub use depthwise_conv2d::DepthwiseConv2D;
pub use dropout::Dropout;
pub use flatten::Flatten;
pub use global_average_pooling2d::GlobalAveragePooling2D;
pub use global_max_pooling2d::GlobalMaxPooling2D;
pub use layer::{LayerConfig, SerializableLayer};
pub use max_pooling2d::MaxPooling2D;
pub use merging::{Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract};
pub use preprocessing::{
    FlipMode, RandomContrast, RandomFlip, RandomRotation, RandomTranslation, RandomZoom, Rescaling,
};
pub use registry::{layer_from_config, register};
pub use relu::ReLU;
pub use resize_common::ResizeInterpolation;
pub use resizing::Resizing;
pub use separable_conv2d::SeparableConv2D;
pub use up_sampling2d::UpSampling2D;
pub use zero_padding2d::ZeroPadding2D;

use crate::Result;

/// Checks that a shape is `(C, H, W)` and returns it as an array.
pub(crate) fn expect_chw(layer: &dyn crate::Layer, shape: &[i64]) -> Result<[i64; 3]> {
    if shape.len() != 3 {
        return Err(layer.shape_error("(None, channels, height, width)", shape));
    }
    Ok([shape[0], shape[1], shape[2]])
}
