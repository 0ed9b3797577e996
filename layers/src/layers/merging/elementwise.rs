//! Element-wise merge layers: `Add`, `Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum`.

use convkit_tensor::tch::Tensor;

use crate::error::shape_string;
use crate::layers::flatten::PlainConfig;
use crate::layers::layer::Layer;
use crate::layers::layer::{LayerConfig, SerializableLayer};
use crate::Result;

/// Checks that every input has the same shape (at least two inputs; `exact` inputs when
/// given) and returns it.
fn same_shapes(layer: &dyn Layer, shapes: &[Vec<i64>], exact: Option<usize>) -> Result<Vec<i64>> {
    let ok_count = match exact {
        Some(n) => shapes.len() == n,
        None => shapes.len() >= 2,
    };
    if !ok_count {
        let want = exact.map_or("at least 2".to_string(), |n| n.to_string());
        return Err(layer.config_error(&format!(
            "takes a list of {want} inputs, got {}",
            shapes.len()
        )));
    }
    let first = &shapes[0];
    if let Some(other) = shapes.iter().find(|s| *s != first) {
        return Err(layer.config_error(&format!(
            "inputs must have the same shape, got {} and {}",
            shape_string(first),
            shape_string(other)
        )));
    }
    Ok(first.clone())
}

macro_rules! elementwise_merge {
    ($(#[$doc:meta])* $ty:ident, $class:literal, $base:literal, $exact:expr, |$xs:ident| $body:expr) => {
        $(#[$doc])*
        #[derive(Debug, Default)]
        pub struct $ty {
            config: PlainConfig,
        }

        impl $ty {
            /// A new layer.
            pub fn new() -> Self {
                Self::default()
            }
        }

        impl SerializableLayer for $ty {
            const CLASS_NAME: &'static str = $class;
            type Config = PlainConfig;

            fn from_config(config: PlainConfig) -> Self {
                $ty { config }
            }
        }

        impl Layer for $ty {
            common_accessors!();
            fn class_name(&self) -> &'static str {
                Self::CLASS_NAME
            }
            fn base_name(&self) -> &'static str {
                $base
            }
            super::merge_single_input_errors!();
            fn compute_output_shape_multi(&self, shapes: &[Vec<i64>]) -> Result<Vec<i64>> {
                same_shapes(self, shapes, $exact)
            }
            fn build_multi(
                &mut self,
                shapes: &[Vec<i64>],
                _device: convkit_tensor::tch::Device,
            ) -> Result<Vec<i64>> {
                self.compute_output_shape_multi(shapes)
            }
            fn forward_multi(&self, $xs: &[&Tensor], _training: bool) -> Result<Tensor> {
                let shapes: Vec<Vec<i64>> = $xs.iter().map(|x| x.size()[1..].to_vec()).collect();
                same_shapes(self, &shapes, $exact)?;
                $body
            }
            fn config(&self) -> LayerConfig {
                LayerConfig::new::<Self>(&self.config)
            }
        }
    };
}

/// Folds the inputs pairwise with `op`.
fn fold(xs: &[&Tensor], op: impl Fn(&Tensor, &Tensor) -> Result<Tensor>) -> Result<Tensor> {
    let mut acc = xs[0].shallow_clone();
    for x in &xs[1..] {
        acc = op(&acc, x)?;
    }
    Ok(acc)
}

elementwise_merge!(
    /// Sum of the inputs (residual connections: `x = Add::new()` on `[x, residual]`).
    Add, "Add", "add", None, |xs| fold(xs, |a, b| Ok(a.f_add(b)?))
);
elementwise_merge!(
    /// `inputs[0] - inputs[1]`.
    Subtract, "Subtract", "subtract", Some(2), |xs| Ok(xs[0].f_sub(xs[1])?)
);
elementwise_merge!(
    /// Product of the inputs.
    Multiply, "Multiply", "multiply", None, |xs| fold(xs, |a, b| Ok(a.f_mul(b)?))
);
elementwise_merge!(
    /// Mean of the inputs.
    Average, "Average", "average", None, |xs| {
        Ok(fold(xs, |a, b| Ok(a.f_add(b)?))?.f_div_scalar(xs.len() as f64)?)
    }
);
elementwise_merge!(
    /// Element-wise maximum of the inputs.
    Maximum, "Maximum", "maximum", None, |xs| fold(xs, |a, b| Ok(a.f_maximum(b)?))
);
elementwise_merge!(
    /// Element-wise minimum of the inputs.
    Minimum, "Minimum", "minimum", None, |xs| fold(xs, |a, b| Ok(a.f_minimum(b)?))
);
