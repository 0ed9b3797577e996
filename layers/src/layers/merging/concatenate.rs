//! `Concatenate`: joins inputs along an axis.

use convkit_tensor::tch::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::shape_string;
use crate::layers::layer::{Layer, LayerCommon, LayerConfig, SerializableLayer};
use crate::Result;

/// Configuration of [`Concatenate`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConcatenateConfig {
    /// Name, trainable, input shape.
    #[serde(flatten)]
    pub common: LayerCommon,
    /// Axis of the batched tensor (NCHW), 1 = channels or features; negative counts from the
    /// end. Keras' default `axis=-1` on channels-last data is `1` here.
    pub axis: i64,
}

/// Concatenates inputs along `axis` (channels by default); the other axes must agree.
///
/// # Shapes
/// `[(N, C1, H, W), (N, C2, H, W)]` -> `(N, C1 + C2, H, W)` for `axis = 1`.
#[derive(Debug)]
pub struct Concatenate {
    config: ConcatenateConfig,
}

impl Default for Concatenate {
    fn default() -> Self {
        Self::new()
    }
}

impl Concatenate {
    /// Concatenation along channels (axis 1).
    pub fn new() -> Self {
        Self::along(1)
    }
    /// Concatenation along `axis` of the batched tensor.
    pub fn along(axis: i64) -> Self {
        Self::from_config(ConcatenateConfig {
            common: LayerCommon::new(),
            axis,
        })
    }

    /// The axis in the shape without batch dimension.
    fn sample_axis(&self, rank: usize) -> Result<usize> {
        let a = self.config.axis;
        let full = rank as i64 + 1;
        let resolved = if a < 0 { a + full } else { a };
        if resolved < 1 || resolved >= full {
            return Err(self.config_error(&format!(
                "axis {a} is out of range for inputs of rank {full} (the batch axis 0 cannot be concatenated)"
            )));
        }
        Ok(resolved as usize - 1)
    }
}

impl SerializableLayer for Concatenate {
    const CLASS_NAME: &'static str = "Concatenate";
    type Config = ConcatenateConfig;

    fn from_config(config: ConcatenateConfig) -> Self {
        Concatenate { config }
    }
}

impl Layer for Concatenate {
    common_accessors!();
    fn class_name(&self) -> &'static str {
        Self::CLASS_NAME
    }
    fn base_name(&self) -> &'static str {
        "concatenate"
    }
    super::merge_single_input_errors!();
    fn compute_output_shape_multi(&self, shapes: &[Vec<i64>]) -> Result<Vec<i64>> {
        if shapes.len() < 2 {
            return Err(self.config_error(&format!(
                "takes a list of at least 2 inputs, got {}",
                shapes.len()
            )));
        }
        let axis = self.sample_axis(shapes[0].len())?;
        let mut out = shapes[0].clone();
        for s in &shapes[1..] {
            let compatible = s.len() == out.len()
                && s.iter()
                    .zip(&out)
                    .enumerate()
                    .all(|(i, (a, b))| i == axis || a == b);
            if !compatible {
                return Err(self.config_error(&format!(
                    "inputs must agree on every axis but {}, got {} and {}",
                    self.config.axis,
                    shape_string(&shapes[0]),
                    shape_string(s)
                )));
            }
            out[axis] += s[axis];
        }
        Ok(out)
    }
    fn build_multi(&mut self, shapes: &[Vec<i64>], _device: Device) -> Result<Vec<i64>> {
        self.compute_output_shape_multi(shapes)
    }
    fn forward_multi(&self, xs: &[&Tensor], _training: bool) -> Result<Tensor> {
        let shapes: Vec<Vec<i64>> = xs.iter().map(|x| x.size()[1..].to_vec()).collect();
        self.compute_output_shape_multi(&shapes)?;
        let axis = self.sample_axis(shapes[0].len())? as i64 + 1;
        Ok(Tensor::f_cat(xs, axis)?)
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::new::<Self>(&self.config)
    }
}
