//! `Dense`: a fully connected layer, `activation(x @ kernel + bias)`.

use convkit_tensor::tch::Tensor;
use serde::{Deserialize, Serialize};

use crate::layers::conv_options::{
    check_counts, kernel_setters, unit_setters, KernelOptions, UnitOptions,
};
use crate::layers::layer::{Layer, LayerCommon, SerializableLayer};

use super::kernel_bias::{kernel_bias_layer, KernelBias, KernelSpec};
use crate::mixed_precision::variable_as;
use crate::Result;

/// Configuration of [`Dense`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DenseConfig {
    /// Name, trainable, input shape.
    #[serde(flatten)]
    pub common: LayerCommon,
    /// Output features.
    pub units: i64,
    /// Activation, bias, bias and activity regularizers.
    #[serde(flatten)]
    pub options: UnitOptions,
    /// Kernel initializer and regularizer.
    #[serde(flatten)]
    pub kernel: KernelOptions,
}

/// Fully connected layer. The kernel has Keras' layout `(in_features, units)`.
///
/// # Shapes
/// `(N, in_features)` -> `(N, units)`. Flatten image batches first.
#[derive(Debug)]
pub struct Dense {
    config: DenseConfig,
    weights: KernelBias,
}

impl Dense {
    /// `units` outputs, no activation.
    pub fn new(units: i64) -> Self {
        Self::from_config(DenseConfig {
            common: LayerCommon::new(),
            units,
            options: UnitOptions::default(),
            kernel: KernelOptions::default(),
        })
    }

    unit_setters!(options);
    kernel_setters!(kernel: kernel_initializer, kernel_regularizer);

    fn kernel_specs(&self, input_shape: &[i64]) -> (Vec<KernelSpec>, i64) {
        let c = &self.config;
        let shape = [input_shape[0], c.units];
        (
            vec![KernelSpec::new("kernel", &c.kernel, shape, shape)],
            c.units,
        )
    }
}

impl SerializableLayer for Dense {
    const CLASS_NAME: &'static str = "Dense";
    type Config = DenseConfig;

    fn from_config(config: DenseConfig) -> Self {
        Dense {
            config,
            weights: KernelBias::default(),
        }
    }
}

impl Layer for Dense {
    common_accessors!();

    fn class_name(&self) -> &'static str {
        Self::CLASS_NAME
    }
    fn base_name(&self) -> &'static str {
        "dense"
    }

    fn compute_output_shape(&self, input_shape: &[i64]) -> Result<Vec<i64>> {
        check_counts(self, &[("units", self.config.units)])?;
        if input_shape.len() != 1 {
            return Err(self.shape_error(
                "(None, features): add a Flatten or GlobalAveragePooling2D layer before Dense",
                input_shape,
            ));
        }
        Ok(vec![self.config.units])
    }

    kernel_bias_layer!(options);

    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        self.check_input(x)?;
        let kernel = self
            .weights
            .kernel(0)
            .ok_or_else(|| self.config_error("called before being built"))?;
        // Mixed precision: the float32 variables as the input's dtype.
        let kernel = variable_as(kernel, x)?;
        let y = match self.weights.bias() {
            Some(b) => variable_as(b, x)?.f_addmm(x, &kernel)?,
            None => x.f_matmul(&kernel)?,
        };
        self.config.options.activation.apply(&y)
    }
}
