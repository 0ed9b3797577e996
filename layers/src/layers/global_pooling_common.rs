//! What `GlobalAveragePooling2D` and `GlobalMaxPooling2D` share: configuration, output shape
//! and the `Layer` plumbing. Each kind only says how it reduces a channel ([`GlobalReduce`]).

use std::marker::PhantomData;

use convkit_tensor::tch::Tensor;
use serde::{Deserialize, Serialize};

use crate::layers::layer::{Layer, LayerCommon, LayerConfig, SerializableLayer};
use crate::Result;

/// Configuration of a global pooling layer.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct GlobalPoolConfig {
    /// Name, trainable, input shape.
    #[serde(flatten)]
    pub common: LayerCommon,
    /// Keep the spatial axes (size 1).
    #[serde(default)]
    pub keepdims: bool,
}

/// How a global pooling layer reduces each channel over height and width.
pub trait GlobalReduce: Send + Sync + std::fmt::Debug + 'static {
    /// Keras' class name.
    const CLASS_NAME: &'static str;
    /// Prefix of automatic names.
    const BASE_NAME: &'static str;
    /// Reduces the spatial axes (2 and 3) of an NCHW batch.
    fn reduce(x: &Tensor, keepdims: bool) -> Result<Tensor>;
}

/// A global pooling layer over NCHW inputs (`GlobalAveragePooling2D`, `GlobalMaxPooling2D`).
///
/// # Shapes
/// `(N, C, H, W)` -> `(N, C)` (or `(N, C, 1, 1)` with `keepdims`).
#[derive(Debug)]
pub struct GlobalPooling2D<R: GlobalReduce> {
    config: GlobalPoolConfig,
    input_shape: Option<Vec<i64>>,
    kind: PhantomData<R>,
}

impl<R: GlobalReduce> Default for GlobalPooling2D<R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<R: GlobalReduce> GlobalPooling2D<R> {
    /// A new layer.
    pub fn new() -> Self {
        Self::from_config(GlobalPoolConfig {
            common: LayerCommon::new(),
            keepdims: false,
        })
    }
    /// Keeps the spatial axes.
    pub fn keepdims(mut self, k: bool) -> Self {
        self.config.keepdims = k;
        self
    }
}

impl<R: GlobalReduce> SerializableLayer for GlobalPooling2D<R> {
    const CLASS_NAME: &'static str = R::CLASS_NAME;
    type Config = GlobalPoolConfig;

    fn from_config(config: GlobalPoolConfig) -> Self {
        GlobalPooling2D {
            config,
            input_shape: None,
            kind: PhantomData,
        }
    }
}

impl<R: GlobalReduce> Layer for GlobalPooling2D<R> {
    common_accessors!();

    fn class_name(&self) -> &'static str {
        Self::CLASS_NAME
    }
    fn base_name(&self) -> &'static str {
        R::BASE_NAME
    }
    fn compute_output_shape(&self, input_shape: &[i64]) -> Result<Vec<i64>> {
        let [c, _, _] = super::expect_chw(self, input_shape)?;
        Ok(if self.config.keepdims {
            vec![c, 1, 1]
        } else {
            vec![c]
        })
    }
    parameterless_build!();
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        self.check_input(x)?;
        R::reduce(x, self.config.keepdims)
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::new::<Self>(&self.config)
    }
}
