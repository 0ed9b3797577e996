//! `BatchNormalization` with Keras' defaults (momentum 0.99, epsilon 1e-3) and semantics: the
//! moving variance tracks the biased batch variance, and a frozen layer runs in inference mode.

use convkit_tensor::tch::{self, Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::layers::layer::{Layer, LayerCommon, LayerConfig, Param, SerializableLayer};
use crate::Result;

/// Configuration of [`BatchNormalization`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BatchNormConfig {
    /// Name, trainable, input shape.
    #[serde(flatten)]
    pub common: LayerCommon,
    /// Moving-average factor (Keras: 0.99; PyTorch's 0.1 means 0.9 here).
    pub momentum: f64,
    /// Added to the variance (Keras: 1e-3).
    pub epsilon: f64,
    /// Learn a shift `beta`.
    pub center: bool,
    /// Learn a scale `gamma`.
    pub scale: bool,
}

/// Batch normalization over axis 1 (channels of NCHW, features of `(N, F)`).
///
/// Training (and trainable): normalise with the batch's mean and biased variance and update
/// `moving = moving * momentum + batch * (1 - momentum)`. Inference, or frozen: use the moving
/// statistics.
///
/// # Shapes
/// `(N, C, ...)`, unchanged.
#[derive(Debug)]
pub struct BatchNormalization {
    config: BatchNormConfig,
    gamma: Option<Param>,
    beta: Option<Param>,
    moving_mean: Option<Param>,
    moving_variance: Option<Param>,
    input_shape: Option<Vec<i64>>,
}

impl Default for BatchNormalization {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchNormalization {
    /// Keras' defaults.
    pub fn new() -> Self {
        Self::from_config(BatchNormConfig {
            common: LayerCommon::new(),
            momentum: 0.99,
            epsilon: 1e-3,
            center: true,
            scale: true,
        })
    }
    /// Sets the momentum.
    pub fn momentum(mut self, m: f64) -> Self {
        self.config.momentum = m;
        self
    }
    /// Sets epsilon.
    pub fn epsilon(mut self, e: f64) -> Self {
        self.config.epsilon = e;
        self
    }

    fn stats(&self) -> Result<(&Tensor, &Tensor)> {
        match (&self.moving_mean, &self.moving_variance) {
            (Some(m), Some(v)) => Ok((&m.tensor, &v.tensor)),
            _ => Err(self.config_error("called before being built")),
        }
    }
}

impl SerializableLayer for BatchNormalization {
    const CLASS_NAME: &'static str = "BatchNormalization";
    type Config = BatchNormConfig;

    fn from_config(config: BatchNormConfig) -> Self {
        BatchNormalization {
            config,
            gamma: None,
            beta: None,
            moving_mean: None,
            moving_variance: None,
            input_shape: None,
        }
    }
}

impl Layer for BatchNormalization {
    common_accessors!();

    fn class_name(&self) -> &'static str {
        Self::CLASS_NAME
    }
    fn base_name(&self) -> &'static str {
        "batch_normalization"
    }
    fn compute_output_shape(&self, input_shape: &[i64]) -> Result<Vec<i64>> {
        if input_shape.is_empty() {
            return Err(self.shape_error("(None, channels, ...)", input_shape));
        }
        let m = self.config.momentum;
        if !(0.0..=1.0).contains(&m) || self.config.epsilon <= 0.0 {
            return Err(self.config_error(&format!(
                "momentum must lie in [0, 1] and epsilon be > 0, got {m} and {}",
                self.config.epsilon
            )));
        }
        Ok(input_shape.to_vec())
    }
    fn build(&mut self, input_shape: &[i64], device: Device) -> Result<Vec<i64>> {
        let out = self.compute_output_shape(input_shape)?;
        let c = input_shape[0];
        let opts = (tch::Kind::Float, device);
        self.gamma = if self.config.scale {
            Some(Param::trainable("gamma", Tensor::f_ones([c], opts)?))
        } else {
            None
        };
        self.beta = if self.config.center {
            Some(Param::trainable("beta", Tensor::f_zeros([c], opts)?))
        } else {
            None
        };
        self.moving_mean = Some(Param::non_trainable(
            "moving_mean",
            Tensor::f_zeros([c], opts)?,
        ));
        self.moving_variance = Some(Param::non_trainable(
            "moving_variance",
            Tensor::f_ones([c], opts)?,
        ));
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
        [
            &self.gamma,
            &self.beta,
            &self.moving_mean,
            &self.moving_variance,
        ]
        .into_iter()
        .flatten()
        .collect()
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        [
            &mut self.gamma,
            &mut self.beta,
            &mut self.moving_mean,
            &mut self.moving_variance,
        ]
        .into_iter()
        .flatten()
        .collect()
    }
    fn channel_affine(&self, training: bool) -> Option<Result<(Tensor, Tensor)>> {
        if training && self.trainable() {
            return None;
        }
        let affine = || -> Result<(Tensor, Tensor)> {
            let (mean, var) = self.stats()?;
            let mut scale = var.f_add_scalar(self.config.epsilon)?.f_rsqrt()?;
            if let Some(g) = &self.gamma {
                scale = scale.f_mul(&g.tensor)?;
            }
            let mut shift = mean.f_mul(&scale)?.f_neg()?;
            if let Some(b) = &self.beta {
                shift = shift.f_add(&b.tensor)?;
            }
            Ok((scale, shift))
        };
        Some(affine())
    }

    fn forward(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        self.check_input(x)?;
        // Under mixed precision the statistics are computed in float32 and the result goes
        // back to the input's dtype, as Keras does (low precisions overflow in the variance).
        let low = crate::mixed_precision::to_float32(x)?;
        if low.kind() != x.kind() {
            return Ok(self.normalize(&low, training)?.f_to_kind(x.kind())?);
        }
        self.normalize(x, training)
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::new::<Self>(&self.config)
    }
}

impl BatchNormalization {
    /// The normalization, in `x`'s dtype (float32).
    fn normalize(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        let (mean, var) = self.stats()?;
        let gamma = self.gamma.as_ref().map(|p| &p.tensor);
        let beta = self.beta.as_ref().map(|p| &p.tensor);
        let eps = self.config.epsilon;
        if !(training && self.trainable()) {
            return Ok(x.f_batch_norm(
                gamma,
                beta,
                Some(mean),
                Some(var),
                false,
                0.0,
                eps,
                false,
            )?);
        }
        let (y, batch_mean, invstd) = x.f_native_batch_norm(
            gamma,
            beta,
            None::<&Tensor>,
            None::<&Tensor>,
            true,
            0.0,
            eps,
        )?;
        tch::no_grad(|| -> Result<()> {
            let m = self.config.momentum;
            // invstd = 1 / sqrt(var_biased + eps)
            let batch_var = invstd.f_square()?.f_reciprocal()?.f_sub_scalar(eps)?;
            let new_mean = mean
                .f_mul_scalar(m)?
                .f_add(&batch_mean.f_mul_scalar(1.0 - m)?)?;
            let new_var = var
                .f_mul_scalar(m)?
                .f_add(&batch_var.f_mul_scalar(1.0 - m)?)?;
            mean.shallow_clone().f_copy_(&new_mean)?;
            var.shallow_clone().f_copy_(&new_var)?;
            Ok(())
        })?;
        Ok(y)
    }
}
