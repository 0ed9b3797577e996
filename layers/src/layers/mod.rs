//! The layers, one per file, as in Keras' `keras/src/layers/`.

/// Implements `common`/`common_mut` for a layer whose settings live in `self.config.common`.
macro_rules! common_accessors {
    () => {
        fn common(&self) -> &$crate::layer::LayerCommon {
            &self.config.common
        }
        fn common_mut(&mut self) -> &mut $crate::layer::LayerCommon {
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
pub mod average_pooling2d;
pub mod batch_normalization;
pub mod conv2d;
pub mod dense;
pub mod dropout;
pub mod flatten;
pub mod global_average_pooling2d;
mod kernel_bias;
pub mod max_pooling2d;
pub mod pooling_common;
pub mod preprocessing;

pub use activation::ActivationLayer;
pub use average_pooling2d::AveragePooling2D;
pub use batch_normalization::BatchNormalization;
pub use conv2d::Conv2D;
pub use dense::Dense;
pub use dropout::Dropout;
pub use flatten::Flatten;
pub use global_average_pooling2d::GlobalAveragePooling2D;
pub use max_pooling2d::MaxPooling2D;
pub use preprocessing::{
    RandomContrast, RandomFlip, RandomRotation, RandomTranslation, RandomZoom, Rescaling,
};

use crate::Result;

/// Checks that a shape is `(C, H, W)` and returns it as an array.
pub(crate) fn expect_chw(layer: &dyn crate::Layer, shape: &[i64]) -> Result<[i64; 3]> {
    if shape.len() != 3 {
        return Err(layer.shape_error("(None, channels, height, width)", shape));
    }
    Ok([shape[0], shape[1], shape[2]])
}
