//! `ZeroPadding2D`: zero rows and columns around each image.

use convkit_tensor::tch::Tensor;
use serde::{Deserialize, Serialize};

use crate::layers::layer::{Layer, LayerCommon, LayerConfig, SerializableLayer};
use crate::Result;

/// Configuration of [`ZeroPadding2D`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ZeroPadding2DConfig {
    /// Name, trainable, input shape.
    #[serde(flatten)]
    pub common: LayerCommon,
    /// `((top, bottom), (left, right))`.
    pub padding: [[i64; 2]; 2],
}

/// Pads images with zeros (Keras' `ZeroPadding2D`; `padding` is `1`, `(rows, cols)` or
/// `((top, bottom), (left, right))`).
///
/// # Shapes
/// `(N, C, H, W)` -> `(N, C, H + top + bottom, W + left + right)`.
#[derive(Debug)]
pub struct ZeroPadding2D {
    config: ZeroPadding2DConfig,
    input_shape: Option<Vec<i64>>,
}

impl ZeroPadding2D {
    /// The same padding on every side.
    pub fn new(padding: i64) -> Self {
        Self::asymmetric([[padding, padding], [padding, padding]])
    }
    /// `rows` above and below, `cols` left and right.
    pub fn symmetric(rows: i64, cols: i64) -> Self {
        Self::asymmetric([[rows, rows], [cols, cols]])
    }
    /// `((top, bottom), (left, right))`.
    pub fn asymmetric(padding: [[i64; 2]; 2]) -> Self {
        Self::from_config(ZeroPadding2DConfig {
            common: LayerCommon::new(),
            padding,
        })
    }
}

impl SerializableLayer for ZeroPadding2D {
    const CLASS_NAME: &'static str = "ZeroPadding2D";
    type Config = ZeroPadding2DConfig;

    fn from_config(config: ZeroPadding2DConfig) -> Self {
        ZeroPadding2D {
            config,
            input_shape: None,
        }
    }
}

impl Layer for ZeroPadding2D {
    common_accessors!();
    fn class_name(&self) -> &'static str {
        Self::CLASS_NAME
    }
    fn base_name(&self) -> &'static str {
        "zero_padding2d"
    }
    fn compute_output_shape(&self, input_shape: &[i64]) -> Result<Vec<i64>> {
        let [c, h, w] = super::expect_chw(self, input_shape)?;
        let p = self.config.padding;
        if p.iter().flatten().any(|&v| v < 0) {
            return Err(self.config_error(&format!("padding must be >= 0, got {p:?}")));
        }
        Ok(vec![c, h + p[0][0] + p[0][1], w + p[1][0] + p[1][1]])
    }
    parameterless_build!();
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        self.check_input(x)?;
        let p = self.config.padding;
        Ok(x.f_constant_pad_nd([p[1][0], p[1][1], p[0][0], p[0][1]])?)
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::new::<Self>(&self.config)
    }
}
