//! Merge layers: they take a list of inputs (functional API) and return one tensor.
//! `Add`, `Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum` work element-wise on inputs
//! of equal shape; `Concatenate` joins along an axis.

pub mod concatenate;
pub mod elementwise;

pub use concatenate::{Concatenate, ConcatenateConfig};
pub use elementwise::{Add, Average, Maximum, Minimum, Multiply, Subtract};

/// Implements the single-input methods of a merge layer as errors pointing at the
/// functional API.
macro_rules! merge_single_input_errors {
    () => {
        fn compute_output_shape(&self, input_shape: &[i64]) -> $crate::Result<Vec<i64>> {
            self.compute_output_shape_multi(&[input_shape.to_vec()])
        }
        fn build(
            &mut self,
            input_shape: &[i64],
            device: convkit_tensor::tch::Device,
        ) -> $crate::Result<Vec<i64>> {
            self.build_multi(&[input_shape.to_vec()], device)
        }
        fn forward(
            &self,
            x: &convkit_tensor::tch::Tensor,
            training: bool,
        ) -> $crate::Result<convkit_tensor::tch::Tensor> {
            self.forward_multi(&[x], training)
        }
        fn takes_multiple_inputs(&self) -> bool {
            true
        }
        fn built_input_shape(&self) -> Option<&[i64]> {
            None
        }
    };
}
pub(crate) use merge_single_input_errors;
