//! What `MaxPooling2D` and `AveragePooling2D` share: configuration, output shape, builder and
//! the `Layer` plumbing. Each kind only says how it pools ([`PoolKind`]).

use std::marker::PhantomData;

use convkit_tensor::tch::Tensor;
use serde::{Deserialize, Serialize};

use crate::layers::layer::{Layer, LayerCommon, LayerConfig, Pair, SerializableLayer};
use crate::layers::padding::{output_size, spatial_padding, Padding};
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

/// How a 2-D pooling layer pools a window.
pub trait PoolKind: Send + Sync + std::fmt::Debug + 'static {
    /// Keras' class name.
    const CLASS_NAME: &'static str;
    /// Prefix of automatic names.
    const BASE_NAME: &'static str;
    /// Pools an NCHW batch with window `k`, strides `s` and `[(top, bottom), (left, right)]`
    /// padding.
    fn pool(x: &Tensor, k: [i64; 2], s: [i64; 2], pads: [(i64, i64); 2]) -> Result<Tensor>;
}

/// A 2-D pooling layer over NCHW inputs (`MaxPooling2D`, `AveragePooling2D`).
///
/// # Shapes
/// `(N, C, H, W)` -> `(N, C, H', W')`; a window of 2 with default strides halves H and W.
#[derive(Debug)]
pub struct Pooling2D<K: PoolKind> {
    pub(crate) config: Pool2DConfig,
    input_shape: Option<Vec<i64>>,
    kind: PhantomData<K>,
}

impl<K: PoolKind> Pooling2D<K> {
    /// Pooling window `pool_size` (int or pair), strides = pool size, `valid`.
    pub fn new(pool_size: impl Into<Pair>) -> Self {
        Self::from_config(Pool2DConfig::new(pool_size.into()))
    }
    /// Sets the strides.
    pub fn strides(mut self, s: impl Into<Pair>) -> Self {
        self.config.strides = Some(s.into());
        self
    }
    /// Sets the padding.
    pub fn padding(mut self, p: Padding) -> Self {
        self.config.padding = p;
        self
    }
}

impl<K: PoolKind> SerializableLayer for Pooling2D<K> {
    const CLASS_NAME: &'static str = K::CLASS_NAME;
    type Config = Pool2DConfig;

    fn from_config(config: Pool2DConfig) -> Self {
        Pooling2D {
            config,
            input_shape: None,
            kind: PhantomData,
        }
    }
}

impl<K: PoolKind> Layer for Pooling2D<K> {
    common_accessors!();

    fn class_name(&self) -> &'static str {
        Self::CLASS_NAME
    }
    fn base_name(&self) -> &'static str {
        K::BASE_NAME
    }
    fn compute_output_shape(&self, input_shape: &[i64]) -> Result<Vec<i64>> {
        self.config.output_shape(self, input_shape)
    }
    parameterless_build!();
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        self.check_input(x)?;
        let size = x.size();
        let pads = self.config.pads([size[2], size[3]]);
        K::pool(
            x,
            self.config.pool_size.arr(),
            self.config.effective_strides().arr(),
            pads,
        )
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::new::<Self>(&self.config)
    }
}
