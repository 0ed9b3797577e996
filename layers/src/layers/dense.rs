//! `Dense`: a fully connected layer, `activation(x @ kernel + bias)`.

use convkit_tensor::tch::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::layers::activations::Activation;
use crate::layers::initializers::Initializer;
use crate::layers::layer::{Layer, LayerCommon, LayerConfig, Param, SerializableLayer};
use crate::layers::regularizers::Regularizer;

use super::kernel_bias::KernelBias;
use crate::Result;

/// Configuration of [`Dense`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DenseConfig {
    /// Name, trainable, input shape.
    #[serde(flatten)]
    pub common: LayerCommon,
    /// Output features.
    pub units: i64,
    /// Activation.
    pub activation: Activation,
    /// Whether a bias is added.
    pub use_bias: bool,
    /// Kernel initializer (glorot_uniform).
    pub kernel_initializer: Initializer,
    /// Bias initializer (zeros).
    pub bias_initializer: Initializer,
    /// Penalty on the kernel.
    pub kernel_regularizer: Option<Regularizer>,
    /// Penalty on the bias.
    pub bias_regularizer: Option<Regularizer>,
    /// Penalty on the output.
    pub activity_regularizer: Option<Regularizer>,
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
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            kernel_regularizer: None,
            bias_regularizer: None,
            activity_regularizer: None,
        })
    }

    /// Sets the activation.
    pub fn activation(mut self, a: Activation) -> Self {
        self.config.activation = a;
        self
    }
    /// Enables or disables the bias.
    pub fn use_bias(mut self, b: bool) -> Self {
        self.config.use_bias = b;
        self
    }
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
    /// Sets the bias regularizer.
    pub fn bias_regularizer(mut self, r: Regularizer) -> Self {
        self.config.bias_regularizer = Some(r);
        self
    }
    /// Sets the activity regularizer.
    pub fn activity_regularizer(mut self, r: Regularizer) -> Self {
        self.config.activity_regularizer = Some(r);
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
        let init = (c.kernel_initializer, c.bias_initializer);
        self.weights = KernelBias::build(&shape, &shape, c.units, c.use_bias, init, device)?;
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
            .kernel
            .as_ref()
            .ok_or_else(|| self.config_error("called before being built"))?;
        let y = match self.weights.bias_tensor() {
            Some(b) => b.f_addmm(x, &kernel.tensor)?,
            None => x.f_matmul(&kernel.tensor)?,
        };
        self.config.activation.apply(&y)
    }

    fn regularization_loss(&self) -> Result<Option<Tensor>> {
        let c = &self.config;
        self.weights
            .regularization_loss(c.kernel_regularizer, c.bias_regularizer)
    }

    fn activity_regularizer(&self) -> Option<Regularizer> {
        self.config.activity_regularizer
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::new::<Self>(&self.config)
    }
}
