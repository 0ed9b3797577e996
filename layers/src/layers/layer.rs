//! The [`Layer`] trait and what every layer shares: its [`LayerCommon`] settings, its
//! [`Param`]eters, and its saved form: its class name and arguments ([`LayerConfig`]) and the
//! trait a layer type implements to be rebuilt from them ([`SerializableLayer`], Keras'
//! `get_config`/`from_config` pair).
//!
//! The layer catalogue ([`crate::layers::registry`]) maps class names to the types that
//! implement [`SerializableLayer`]; layer files know nothing of it.

use convkit_tensor::tch::{Device, Tensor};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{batch_shape_error, channels_last_hint, shape_string};
use crate::layers::regularizers::Regularizer;
use crate::mixed_precision::DTypePolicy;
use crate::{Error, Result};

/// A named weight of a layer (`kernel`, `bias`, `moving_mean`...).
#[derive(Debug)]
pub struct Param {
    /// Name inside the layer (`kernel`); the model-wide name is `layer/kernel`.
    pub name: String,
    /// The tensor (its storage is shared with the optimizer and saved files).
    pub tensor: Tensor,
    /// Whether gradient descent updates it (false for BatchNorm's moving statistics).
    pub trainable: bool,
}

impl Param {
    /// A trainable parameter: the tensor requires gradients.
    pub fn trainable(name: &str, t: Tensor) -> Param {
        Param {
            name: name.into(),
            tensor: t.set_requires_grad(true),
            trainable: true,
        }
    }

    /// A non-trainable variable (updated by the layer itself, or frozen).
    pub fn non_trainable(name: &str, t: Tensor) -> Param {
        Param {
            name: name.into(),
            tensor: t.set_requires_grad(false),
            trainable: false,
        }
    }

    /// Number of scalars.
    pub fn numel(&self) -> i64 {
        self.tensor.size().iter().product()
    }
}

/// Settings every layer has: name, trainable flag and optional input shape (for the first
/// layer of a `Sequential`, without the batch dimension, NCHW: `[1, 28, 28]`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LayerCommon {
    /// Name; `None` until a model names it (`conv2d`, `conv2d_1`...).
    #[serde(default)]
    pub name: Option<String>,
    /// Whether the layer's weights are trained.
    #[serde(default = "default_true")]
    pub trainable: bool,
    /// Input shape without batch dimension, when given on the layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_shape: Option<Vec<i64>>,
    /// Dtype policy (Keras' `dtype`): the global policy when the layer was made
    /// ([`crate::mixed_precision`]).
    #[serde(default, skip_serializing_if = "DTypePolicy::is_float32")]
    pub dtype: DTypePolicy,
}

fn default_true() -> bool {
    true
}

impl Default for LayerCommon {
    fn default() -> Self {
        Self::new()
    }
}

impl LayerCommon {
    /// Default settings: unnamed, trainable, the global dtype policy.
    pub fn new() -> Self {
        LayerCommon {
            name: None,
            trainable: true,
            input_shape: None,
            dtype: crate::mixed_precision::global_policy(),
        }
    }
}

/// Runs `layer` on `x` as a model does: a floating `x` cast to the layer's compute dtype
/// first (Keras' autocast of a layer's inputs; a nested model's own layers cast theirs).
pub fn call_layer(layer: &dyn Layer, x: &Tensor, training: bool) -> Result<Tensor> {
    if layer.as_model().is_some() {
        return layer.forward(x, training);
    }
    let x = crate::mixed_precision::autocast_input(layer.common().dtype, x)?;
    layer.forward(&x, training)
}

/// [`call_layer`] for a layer of several inputs (each cast).
pub fn call_layer_multi(layer: &dyn Layer, xs: &[&Tensor], training: bool) -> Result<Tensor> {
    if layer.as_model().is_some() {
        return layer.forward_multi(xs, training);
    }
    let policy = layer.common().dtype;
    let cast: Vec<Tensor> = xs
        .iter()
        .map(|x| crate::mixed_precision::autocast_input(policy, x))
        .collect::<Result<_>>()?;
    let refs: Vec<&Tensor> = cast.iter().collect();
    layer.forward_multi(&refs, training)
}

/// A layer of a model: built once from its input shape, then called on batches.
///
/// Shapes exclude the batch dimension and are NCHW for images (`[channels, height, width]`).
pub trait Layer: Send + std::fmt::Debug {
    /// Keras' class name (`"Conv2D"`).
    fn class_name(&self) -> &'static str;
    /// Prefix of automatic names (`"conv2d"`).
    fn base_name(&self) -> &'static str;
    /// Shared settings.
    fn common(&self) -> &LayerCommon;
    /// Shared settings, mutable.
    fn common_mut(&mut self) -> &mut LayerCommon;

    /// Output shape for an input shape, checking that the layer can take it.
    fn compute_output_shape(&self, input_shape: &[i64]) -> Result<Vec<i64>>;
    /// Creates the parameters for `input_shape` on `device`; returns the output shape.
    fn build(&mut self, input_shape: &[i64], device: Device) -> Result<Vec<i64>>;
    /// The input shape the layer was built for, if built.
    fn built_input_shape(&self) -> Option<&[i64]>;
    /// The parameters, in Keras order (`kernel`, `bias`; `gamma`, `beta`, `moving_mean`, `moving_variance`).
    fn params(&self) -> Vec<&Param> {
        Vec::new()
    }
    /// The parameters, mutable.
    fn params_mut(&mut self) -> Vec<&mut Param> {
        Vec::new()
    }
    /// The parameters with their names inside the layer (`kernel`; a nested model answers
    /// `block1_conv1/kernel`).
    fn named_params(&self) -> Vec<(String, &Param)> {
        self.params()
            .into_iter()
            .map(|p| (p.name.clone(), p))
            .collect()
    }
    /// Whether the layer takes a list of inputs (merge layers: `Add`, `Concatenate`...).
    fn takes_multiple_inputs(&self) -> bool {
        false
    }
    /// Output shape for several inputs; single-input layers accept exactly one.
    fn compute_output_shape_multi(&self, input_shapes: &[Vec<i64>]) -> Result<Vec<i64>> {
        match input_shapes {
            [one] => self.compute_output_shape(one),
            _ => Err(self.config_error(&format!("takes one input, got {}", input_shapes.len()))),
        }
    }
    /// Builds for several inputs; single-input layers accept exactly one.
    fn build_multi(&mut self, input_shapes: &[Vec<i64>], device: Device) -> Result<Vec<i64>> {
        match input_shapes {
            [one] => self.build(one, device),
            _ => Err(self.config_error(&format!("takes one input, got {}", input_shapes.len()))),
        }
    }
    /// Applies the layer to several inputs; single-input layers accept exactly one.
    fn forward_multi(&self, xs: &[&Tensor], training: bool) -> Result<Tensor> {
        match xs {
            [one] => self.forward(one, training),
            _ => Err(self.config_error(&format!("takes one input, got {}", xs.len()))),
        }
    }
    /// The model inside, when this layer is a nested model.
    fn as_model(&self) -> Option<&dyn crate::Model> {
        None
    }
    /// The model inside, mutable, when this layer is a nested model.
    fn as_model_mut(&mut self) -> Option<&mut dyn crate::Model> {
        None
    }
    /// Applies the layer to a batch. `training` switches dropout and batch statistics.
    fn forward(&self, x: &Tensor, training: bool) -> Result<Tensor>;
    /// When the layer is, for this `training` flag, an affine map per channel of axis 1
    /// (`BatchNormalization` in inference mode): `(scale, shift)` with
    /// `y = x * scale + shift`. Models fold it into the convolution before it.
    fn channel_affine(&self, _training: bool) -> Option<Result<(Tensor, Tensor)>> {
        None
    }
    /// When the layer is a convolution with a linear activation: its output followed by the
    /// per-output-channel map `y * scale + shift`, computed as one convolution with a
    /// folded kernel and bias (batch normalization folding).
    fn forward_folded(
        &self,
        _x: &Tensor,
        _scale: &Tensor,
        _shift: &Tensor,
    ) -> Option<Result<Tensor>> {
        None
    }
    /// Sum of the weight regularization penalties (kernel and bias regularizers).
    fn regularization_loss(&self) -> Result<Option<Tensor>> {
        Ok(None)
    }
    /// Regularizer applied to the layer's output, if any.
    fn activity_regularizer(&self) -> Option<Regularizer> {
        None
    }
    /// Serializable configuration, enough to rebuild the layer.
    fn config(&self) -> LayerConfig;

    /// The layer's name (its class's base name until a model names it).
    fn name(&self) -> &str {
        self.common().name.as_deref().unwrap_or(self.base_name())
    }
    /// Whether the layer is trained.
    fn trainable(&self) -> bool {
        self.common().trainable
    }
    /// Freezes or unfreezes the layer (recompile the model afterwards, as in Keras).
    fn set_trainable(&mut self, trainable: bool) {
        self.common_mut().trainable = trainable;
        for p in self.params_mut() {
            let is_stat = p.name.starts_with("moving_");
            let t = trainable && !is_stat;
            p.trainable = t;
            p.tensor = p.tensor.set_requires_grad(t);
        }
    }
    /// Number of scalars in the parameters.
    fn count_params(&self) -> i64 {
        self.params().iter().map(|p| p.numel()).sum()
    }

    /// Error for an input shape this layer cannot take.
    fn shape_error(&self, expected: &str, actual: &[i64]) -> Error {
        Error::InputShape {
            layer: self.name().into(),
            class: self.class_name().into(),
            expected: expected.into(),
            actual: format!("{}{}", shape_string(actual), channels_last_hint(actual)),
        }
    }

    /// Error for an invalid option.
    fn config_error(&self, problem: &str) -> Error {
        Error::Config {
            layer: self.name().into(),
            class: self.class_name().into(),
            problem: problem.to_string(),
        }
    }

    /// Checks a batch against the shape the layer was built for.
    fn check_input(&self, x: &Tensor) -> Result<()> {
        if let Some(expected) = self.built_input_shape() {
            let size = x.size();
            if size.len() != expected.len() + 1 || &size[1..] != expected {
                return Err(batch_shape_error(
                    self.name(),
                    self.class_name(),
                    expected,
                    &size,
                ));
            }
        }
        Ok(())
    }
}

/// A pair of integers (`kernel_size`, `strides`...), from `3` or `(3, 3)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pair(pub i64, pub i64);

impl From<i64> for Pair {
    fn from(v: i64) -> Pair {
        Pair(v, v)
    }
}

impl From<(i64, i64)> for Pair {
    fn from(v: (i64, i64)) -> Pair {
        Pair(v.0, v.1)
    }
}

impl From<[i64; 2]> for Pair {
    fn from(v: [i64; 2]) -> Pair {
        Pair(v[0], v[1])
    }
}

impl std::fmt::Display for Pair {
    /// As Keras prints it: `(3, 3)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "({}, {})", self.0, self.1)
    }
}

impl Pair {
    /// As a two-element array, for libtorch.
    pub fn arr(self) -> [i64; 2] {
        [self.0, self.1]
    }
}

/// Builder methods shared by every layer (name, trainable, input shape).
pub trait LayerBuilder: Layer + Sized {
    /// Names the layer.
    fn named(mut self, name: impl Into<String>) -> Self {
        self.common_mut().name = Some(name.into());
        self
    }
    /// Sets the input shape (without batch dimension, NCHW) of a first layer.
    fn input_shape(mut self, shape: impl Into<Vec<i64>>) -> Self {
        self.common_mut().input_shape = Some(shape.into());
        self
    }
    /// Sets whether the layer is trained.
    fn with_trainable(mut self, trainable: bool) -> Self {
        self.set_trainable(trainable);
        self
    }
    /// Sets the layer's dtype policy (Keras' `dtype=`), e.g. float32 for the output layer of
    /// a mixed-precision model.
    fn with_dtype(mut self, policy: DTypePolicy) -> Self {
        self.common_mut().dtype = policy;
        self
    }
}

impl<L: Layer + Sized> LayerBuilder for L {}

/// A layer's saved configuration, as in Keras' `model.json`:
/// `{"class_name": "Conv2D", "config": {"filters": 32, ...}}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LayerConfig {
    /// The class name the catalogue knows the layer by (`"Conv2D"`).
    pub class_name: String,
    /// The layer's arguments (its `Config` type as JSON).
    #[serde(default)]
    pub config: Value,
}

impl LayerConfig {
    /// The configuration of a layer of type `T` with arguments `config`.
    pub fn new<T: SerializableLayer>(config: &T::Config) -> Self {
        // A derived `Serialize` of a struct with string keys cannot fail; should a custom
        // one fail, the saved entry says why and loading it reports that text.
        let config = serde_json::to_value(config)
            .unwrap_or_else(|e| Value::String(format!("unserializable configuration: {e}")));
        LayerConfig {
            class_name: T::CLASS_NAME.to_string(),
            config,
        }
    }

    /// The layer's name in the configuration, if any (for error messages).
    pub fn layer_name(&self) -> Option<&str> {
        self.config.get("name").and_then(Value::as_str)
    }
}

/// A layer type that can be saved and rebuilt from its configuration.
///
/// Built-in layers are in the catalogue from the start; a layer defined in another crate
/// becomes saveable and loadable once registered with [`crate::layers::registry::register`]
/// (Keras' `register_keras_serializable`).
///
/// `Config` must round-trip through JSON: the catalogue reports an argument it does not
/// know by comparing the given keys with those of the re-serialized configuration, so a
/// field that is skipped when serializing must be an `Option` skipped only when `None`.
///
/// # Example
/// ```
/// use convkit_layers::layers::{LayerConfig, SerializableLayer};
/// use convkit_layers::prelude::*;
///
/// let conv = Conv2D::new(8, 3);
/// let saved: LayerConfig = conv.config();
/// assert_eq!(saved.class_name, "Conv2D");
/// let rebuilt = convkit_layers::layers::registry::layer_from_config(&saved).unwrap();
/// assert_eq!(rebuilt.class_name(), "Conv2D");
/// # let _ = Conv2D::from_config(serde_json::from_value(saved.config).unwrap());
/// ```
pub trait SerializableLayer: Layer + Sized + 'static {
    /// The class name saved in `model.json` (Keras' class name for Keras' layers).
    const CLASS_NAME: &'static str;
    /// The layer's arguments.
    type Config: Serialize + DeserializeOwned;
    /// An unbuilt layer with these arguments.
    fn from_config(config: Self::Config) -> Self;
}
