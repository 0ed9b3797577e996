//! What `MaxPooling2D` and `AveragePooling2D` share: their configuration and output shape.

use serde::{Deserialize, Serialize};

use crate::layer::{Layer, LayerCommon, Pair};
use crate::padding::{output_size, spatial_padding, Padding};
use crate::Result;

/// Configuration of a 2-D pooling layer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Pool2DConfig {
    /// Name, trainable, input shape.
    #[serde(flatten)]
    pub common: LayerCommon,
    /// Window size.
    pub pool_size: Pair,
    /// Strides; `None` means `pool_size` (Keras' default).
    pub strides: Option<Pair>,
    /// `valid` (default) or `same`.
    pub padding: Padding,
}

impl Pool2DConfig {
    pub(crate) fn new(pool_size: Pair) -> Self {
        Pool2DConfig {
            common: LayerCommon::new(),
            pool_size,
            strides: None,
            padding: Padding::Valid,
        }
    }

    /// The strides in use.
    pub fn effective_strides(&self) -> Pair {
        self.strides.unwrap_or(self.pool_size)
    }

    /// Output shape for a `(C, H, W)` input.
    pub(crate) fn output_shape(&self, layer: &dyn Layer, input_shape: &[i64]) -> Result<Vec<i64>> {
        let p = self.pool_size;
        let s = self.effective_strides();
        if p.0 < 1 || p.1 < 1 || s.0 < 1 || s.1 < 1 {
            return Err(layer.config_error(&format!(
                "pool_size and strides must be >= 1, got {p:?} and {s:?}"
            )));
        }
        let [c, h, w] = super::expect_chw(layer, input_shape)?;
        let oh = output_size(h, p.0, s.0, self.padding);
        let ow = output_size(w, p.1, s.1, self.padding);
        if oh < 1 || ow < 1 {
            return Err(layer.shape_error(
                &format!("height >= {} and width >= {} for valid pooling", p.0, p.1),
                input_shape,
            ));
        }
        Ok(vec![c, oh, ow])
    }

    /// `[(top, bottom), (left, right)]` padding for an input of spatial size `hw`.
    pub(crate) fn pads(&self, hw: [i64; 2]) -> [(i64, i64); 2] {
        spatial_padding(
            hw,
            self.pool_size.arr(),
            self.effective_strides().arr(),
            self.padding,
        )
    }
}
