//! The kernels and optional bias that `Dense` and the convolutions own, created at build
//! time, with their regularization.

use convkit_tensor::tch::{Device, Tensor};

use crate::layers::conv_options::UnitOptions;
use crate::layers::initializers::Initializer;
use crate::layers::layer::Param;
use crate::layers::regularizers::{add_penalty, Regularizer};
use crate::Result;

/// One kernel to create: its Keras name, libtorch storage shape, Keras shape (for the
/// initializer's fans), initializer and regularizer.
pub(crate) struct KernelSpec<'a> {
    pub name: &'a str,
    pub shape: &'a [i64],
    pub keras_shape: &'a [i64],
    pub initializer: Initializer,
    pub regularizer: Option<Regularizer>,
}

/// The kernels (most layers have one, `SeparableConv2D` two) and the optional bias, in
/// Keras' weight order.
#[derive(Debug, Default)]
pub(crate) struct KernelBias {
    kernels: Vec<(Param, Option<Regularizer>)>,
    bias: Option<(Param, Option<Regularizer>)>,
}

impl KernelBias {
    /// Creates `kernels`, then a bias of `bias_units` values when `units.use_bias`.
    pub fn build(
        kernels: &[KernelSpec<'_>],
        bias_units: i64,
        units: &UnitOptions,
        device: Device,
    ) -> Result<Self> {
        let kernels = kernels
            .iter()
            .map(|k| {
                let t = k.initializer.init(k.shape, k.keras_shape, device)?;
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
        Ok(KernelBias { kernels, bias })
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
