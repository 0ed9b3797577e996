//! The kernel and optional bias that `Conv2D` and `Dense` own, with their regularization.

use convkit_tensor::tch::{Device, Tensor};

use crate::layers::initializers::Initializer;
use crate::layers::layer::Param;
use crate::layers::regularizers::{add_penalty, Regularizer};
use crate::Result;

/// A kernel and an optional bias, created at build time.
#[derive(Debug, Default)]
pub(crate) struct KernelBias {
    pub kernel: Option<Param>,
    pub bias: Option<Param>,
}

impl KernelBias {
    /// Creates the kernel (storage shape `shape`, fans from `keras_shape`) and, when
    /// `use_bias`, a bias of `units` values.
    pub fn build(
        shape: &[i64],
        keras_shape: &[i64],
        units: i64,
        use_bias: bool,
        init: (Initializer, Initializer),
        device: Device,
    ) -> Result<Self> {
        let kernel = Some(Param::trainable(
            "kernel",
            init.0.init(shape, keras_shape, device)?,
        ));
        let bias = if use_bias {
            Some(Param::trainable(
                "bias",
                init.1.init(&[units], &[units], device)?,
            ))
        } else {
            None
        };
        Ok(KernelBias { kernel, bias })
    }

    pub fn params(&self) -> Vec<&Param> {
        self.kernel.iter().chain(self.bias.iter()).collect()
    }

    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        self.kernel.iter_mut().chain(self.bias.iter_mut()).collect()
    }

    /// The bias tensor, if any.
    pub fn bias_tensor(&self) -> Option<&Tensor> {
        self.bias.as_ref().map(|b| &b.tensor)
    }

    /// Kernel and bias penalties.
    pub fn regularization_loss(
        &self,
        kernel: Option<Regularizer>,
        bias: Option<Regularizer>,
    ) -> Result<Option<Tensor>> {
        let mut total = None;
        if let Some(k) = &self.kernel {
            total = add_penalty(total, kernel, &k.tensor)?;
        }
        if let Some(b) = &self.bias {
            total = add_penalty(total, bias, &b.tensor)?;
        }
        Ok(total)
    }
}
