//! `Dense`: a fully connected layer, `activation(x @ kernel + bias)`.

use convkit_tensor::tch::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::layers::conv_options::{unit_setters, UnitOptions};
use crate::layers::initializers::Initializer;
use crate::layers::layer::{Layer, LayerCommon, LayerConfig, Param, SerializableLayer};
use crate::layers::regularizers::Regularizer;

use super::kernel_bias::{KernelBias, KernelSpec};
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
    /// Kernel initializer (glorot_uniform).
    pub kernel_initializer: Initializer,
    /// Penalty on the kernel.
    #[serde(default)]
    pub kernel_regularizer: Option<Regularizer>,
}

/// Fully connected layer. The kernel has Keras' layout `(in_features, units)`.
///
/// # Shapes
/// `(N, in_features)` -> `(N, units)`. Flatten image batches first.
#[derive(Debug)]
pub struct Dense {
    config: DenseConfig,
    weights: KernelBias,
    input_shape: Option<Vec<i64>>,
}

impl Dense {
    /// `units` outputs, no activation.
    pub fn new(units: i64) -> Self {
        Self::from_config(DenseConfig {
            common: LayerCommon::new(),
            units,
            options: UnitOptions::default(),
            kernel_initializer: Initializer::GlorotUniform,
            kernel_regularizer: None,
        })
    }

    unit_setters!(options);

    /// Sets the kernel initializer.
    pub fn kernel_initializer(mut self, i: Initializer) -> Self {
        self.config.kernel_initializer = i;
        self
    }
    /// Sets the kernel regularizer.
    pub fn kernel_regularizer(mut self, r: Regularizer) -> Self {
        self.config.kernel_regularizer = Some(r);
        self
    }
}

impl SerializableLayer for Dense {
    const CLASS_NAME: &'static str = "Dense";
    type Config = DenseConfig;

    fn from_config(config: DenseConfig) -> Self {
        Dense {
            config,
            weights: KernelBias::default(),
            input_shape: None,
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
        if self.config.units < 1 {
            return Err(
                self.config_error(&format!("units must be >= 1, got {}", self.config.units))
            );
        }
        if input_shape.len() != 1 {
            return Err(self.shape_error(
                "(None, features): add a Flatten or GlobalAveragePooling2D layer before Dense",
                input_shape,
            ));
        }
        Ok(vec![self.config.units])
    }

    fn build(&mut self, input_shape: &[i64], device: Device) -> Result<Vec<i64>> {
        let out = self.compute_output_shape(input_shape)?;
        let c = &self.config;
        let shape = [input_shape[0], c.units];
        let kernel = KernelSpec {
            name: "kernel",
            shape: &shape,
            keras_shape: &shape,
            initializer: c.kernel_initializer,
            regularizer: c.kernel_regularizer,
        };
        self.weights = KernelBias::build(&[kernel], c.units, &c.options, device)?;
        self.input_shape = Some(input_shape.to_vec());
        if !self.config.common.trainable {
            self.set_trainable(false);
        }
        Ok(out)
    }

    fn built_input_shape(&self) -> Option<&[i64]> {
        self.input_shape.as_deref()
    }

    fn params(&self) -> Vec<&Param> {
        self.weights.params()
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.weights.params_mut()
    }

    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        self.check_input(x)?;
        let kernel = self
            .weights
            .kernel(0)
            .ok_or_else(|| self.config_error("called before being built"))?;
        let y = match self.weights.bias() {
            Some(b) => b.f_addmm(x, kernel)?,
            None => x.f_matmul(kernel)?,
        };
        self.config.options.activation.apply(&y)
    }

    fn regularization_loss(&self) -> Result<Option<Tensor>> {
        self.weights.regularization_loss()
    }

    fn activity_regularizer(&self) -> Option<Regularizer> {
        self.config.options.activity_regularizer
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::new::<Self>(&self.config)
    }
}
