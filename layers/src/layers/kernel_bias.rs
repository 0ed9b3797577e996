//! The kernels and optional bias that `Dense` and the convolutions own, created at build
//! time, with their regularization.

use convkit_tensor::tch::{Device, Tensor};

use crate::layers::conv_options::{KernelOptions, UnitOptions};
use crate::layers::initializers::Initializer;
use crate::layers::layer::Param;
use crate::layers::regularizers::{add_penalty, Regularizer};
use crate::Result;

/// One kernel to create: its Keras name, libtorch storage shape, Keras shape (for the
/// initializer's fans), initializer and regularizer.
pub(crate) struct KernelSpec {
    pub name: &'static str,
    pub shape: Vec<i64>,
    pub keras_shape: Vec<i64>,
    pub initializer: Initializer,
    pub regularizer: Option<Regularizer>,
}

impl KernelSpec {
    /// A kernel initialised and penalised as `options` says.
    pub fn new(
        name: &'static str,
        options: &KernelOptions,
        shape: impl Into<Vec<i64>>,
        keras_shape: impl Into<Vec<i64>>,
    ) -> Self {
        KernelSpec {
            name,
            shape: shape.into(),
            keras_shape: keras_shape.into(),
            initializer: options.kernel_initializer,
            regularizer: options.kernel_regularizer,
        }
    }
}

/// The kernels (most layers have one, `SeparableConv2D` two) and the optional bias, in
/// Keras' weight order, and the input shape they were built for.
#[derive(Debug, Default)]
pub(crate) struct KernelBias {
    kernels: Vec<(Param, Option<Regularizer>)>,
    bias: Option<(Param, Option<Regularizer>)>,
    input_shape: Option<Vec<i64>>,
}

impl KernelBias {
    /// Creates `kernels`, then a bias of `bias_units` values when `units.use_bias`, for
    /// inputs of `input_shape`.
    pub fn build(
        input_shape: &[i64],
        kernels: &[KernelSpec],
        bias_units: i64,
        units: &UnitOptions,
        device: Device,
    ) -> Result<Self> {
        let kernels = kernels
            .iter()
            .map(|k| {
                let t = k.initializer.init(&k.shape, &k.keras_shape, device)?;
                Ok((Param::trainable(k.name, t), k.regularizer))
            })
            .collect::<Result<_>>()?;
        let bias = if units.use_bias {
            let shape = [bias_units];
            let t = units.bias_initializer.init(&shape, &shape, device)?;
            Some((Param::trainable("bias", t), units.bias_regularizer))
        } else {
            None
        };
        Ok(KernelBias {
            kernels,
            bias,
            input_shape: Some(input_shape.to_vec()),
        })
    }

    /// The input shape the weights were built for.
    pub fn input_shape(&self) -> Option<&[i64]> {
        self.input_shape.as_deref()
    }

    /// Kernel `i`, once built.
    pub fn kernel(&self, i: usize) -> Option<&Tensor> {
        self.kernels.get(i).map(|(p, _)| &p.tensor)
    }

    /// The bias, if any.
    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref().map(|(b, _)| &b.tensor)
    }

    pub fn params(&self) -> Vec<&Param> {
        self.kernels
            .iter()
            .chain(self.bias.iter())
            .map(|(p, _)| p)
            .collect()
    }

    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        self.kernels
            .iter_mut()
            .chain(self.bias.iter_mut())
            .map(|(p, _)| p)
            .collect()
    }

    /// The sum of the kernels' and bias' penalties.
    pub fn regularization_loss(&self) -> Result<Option<Tensor>> {
        let mut total = None;
        for (p, r) in self.kernels.iter().chain(self.bias.iter()) {
            total = add_penalty(total, *r, &p.tensor)?;
        }
        Ok(total)
    }
}

/// The `Layer` plumbing of a layer with a [`KernelBias`] in `weights` and
/// [`crate::layers::UnitOptions`] at `config.$units`: `build` (from the
/// layer's inherent `kernel_specs(input_shape) -> (kernels, bias units)`), the parameters,
/// the penalties and the configuration.
macro_rules! kernel_bias_layer {
    ($($units:ident).+) => {
        fn build(
            &mut self,
            input_shape: &[i64],
            device: convkit_tensor::tch::Device,
        ) -> $crate::Result<Vec<i64>> {
            let out = self.compute_output_shape(input_shape)?;
            let (kernels, bias_units) = self.kernel_specs(input_shape);
            self.weights = $crate::layers::kernel_bias::KernelBias::build(
                input_shape,
                &kernels,
                bias_units,
                &self.config.$($units).+,
                device,
            )?;
            if !self.common().trainable {
                self.set_trainable(false);
            }
            Ok(out)
        }
        fn built_input_shape(&self) -> Option<&[i64]> {
            self.weights.input_shape()
        }
        fn params(&self) -> Vec<&$crate::layers::layer::Param> {
            self.weights.params()
        }
        fn params_mut(&mut self) -> Vec<&mut $crate::layers::layer::Param> {
            self.weights.params_mut()
        }
        fn regularization_loss(&self) -> $crate::Result<Option<convkit_tensor::tch::Tensor>> {
            self.weights.regularization_loss()
        }
        fn activity_regularizer(&self) -> Option<$crate::layers::regularizers::Regularizer> {
            self.config.$($units).+.activity_regularizer
        }
        fn config(&self) -> $crate::layers::layer::LayerConfig {
            $crate::layers::layer::LayerConfig::new::<Self>(&self.config)
        }
    };
}
pub(crate) use kernel_bias_layer;
