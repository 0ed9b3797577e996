//! Models used as layers (`model.add(conv_base)`), and [`IntoLayer`], which lets `add`,
//! `apply` and `merge` take either a layer or a model.

use convkit_tensor::tch::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::shape_string;
use crate::layers::layer::{Layer, LayerCommon, LayerConfig, Param, SerializableLayer};
use crate::models::functional::Functional;
use crate::models::model::Model;
use crate::models::sequential::Sequential;
use crate::Result;

/// Anything that can be placed in a model as a layer: every [`Layer`], and models.
pub trait IntoLayer {
    /// The boxed layer.
    fn into_layer(self) -> Box<dyn Layer>;
}

impl<L: Layer + 'static> IntoLayer for L {
    fn into_layer(self) -> Box<dyn Layer> {
        Box::new(self)
    }
}

impl IntoLayer for Box<dyn Layer> {
    fn into_layer(self) -> Box<dyn Layer> {
        self
    }
}

impl IntoLayer for Sequential {
    fn into_layer(self) -> Box<dyn Layer> {
        Box::new(ModelLayer::new(Box::new(self)))
    }
}

impl IntoLayer for Functional {
    fn into_layer(self) -> Box<dyn Layer> {
        Box::new(ModelLayer::new(Box::new(self)))
    }
}

impl IntoLayer for Box<dyn Model> {
    fn into_layer(self) -> Box<dyn Layer> {
        Box::new(ModelLayer::new(self))
    }
}

/// Configuration of a nested model: its name and flags, and its whole architecture.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NestedModelConfig {
    /// Name and trainable flag.
    #[serde(flatten)]
    pub common: LayerCommon,
    /// The inner model's architecture (`{"class_name": "Functional", "config": ...}`).
    pub architecture: serde_json::Value,
}

enum Inner {
    Ready(Box<dyn Model>),
    /// Read from a file, rebuilt when the outer model builds it (it then knows the device).
    Pending(serde_json::Value),
}

/// A model inside another model. Its weights are named `inner_layer/weight` under the nested
/// model's name (`vgg16/block1_conv1/kernel`); freezing it freezes every inner layer, and
/// its BatchNormalization layers then run in inference mode, as in Keras.
pub struct ModelLayer {
    common: LayerCommon,
    inner: Inner,
}

impl std::fmt::Debug for ModelLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelLayer")
            .field("name", &self.common.name)
            .finish()
    }
}

impl ModelLayer {
    /// Wraps a model; the layer takes the model's name and trainable state.
    pub fn new(model: Box<dyn Model>) -> Self {
        let trainable = model.layers().iter().any(|l| l.trainable()) || model.layers().is_empty();
        let common = LayerCommon {
            name: Some(model.name().to_string()),
            trainable,
            input_shape: model.input_shape().map(|s| s.to_vec()),
            // Its layers cast for themselves (`call_layer`).
            dtype: crate::mixed_precision::DTypePolicy::Float32,
        };
        ModelLayer {
            common,
            inner: Inner::Ready(model),
        }
    }

    fn model(&self) -> Result<&dyn Model> {
        match &self.inner {
            Inner::Ready(m) => Ok(m.as_ref()),
            Inner::Pending(_) => Err(self.config_error("nested model used before being built")),
        }
    }
}

/// Saved as class `Model`; the inner model is rebuilt when the outer model is built.
impl SerializableLayer for ModelLayer {
    const CLASS_NAME: &'static str = "Model";
    type Config = NestedModelConfig;

    fn from_config(config: NestedModelConfig) -> Self {
        ModelLayer {
            common: config.common,
            inner: Inner::Pending(config.architecture),
        }
    }
}

impl Layer for ModelLayer {
    fn common(&self) -> &LayerCommon {
        &self.common
    }
    fn common_mut(&mut self) -> &mut LayerCommon {
        &mut self.common
    }
    fn class_name(&self) -> &'static str {
        match &self.inner {
            Inner::Ready(m) => m.class_name(),
            Inner::Pending(arch) => match arch.get("class_name").and_then(|c| c.as_str()) {
                Some("Sequential") => "Sequential",
                _ => "Functional",
            },
        }
    }
    fn base_name(&self) -> &'static str {
        "functional"
    }
    fn compute_output_shape(&self, input_shape: &[i64]) -> Result<Vec<i64>> {
        let m = self.model()?;
        match m.input_shape() {
            Some(s) if s == input_shape => {}
            Some(s) => {
                return Err(self.shape_error(&shape_string(s), input_shape));
            }
            None => {}
        }
        m.output_shape()
            .ok_or_else(|| self.config_error("nested model is not built"))
    }
    fn build(&mut self, input_shape: &[i64], device: Device) -> Result<Vec<i64>> {
        if let Inner::Pending(arch) = &self.inner {
            let model = crate::models::model_from_architecture(arch, device)?;
            self.inner = Inner::Ready(model);
            let t = self.common.trainable;
            self.set_trainable(t);
        }
        let Inner::Ready(m) = &mut self.inner else {
            return Err(self.config_error("nested model could not be rebuilt"));
        };
        m.ensure_built(input_shape)?;
        if m.device() != device {
            m.to_device(device)?;
        }
        self.common.input_shape = Some(input_shape.to_vec());
        self.compute_output_shape(input_shape)
    }
    fn built_input_shape(&self) -> Option<&[i64]> {
        match &self.inner {
            Inner::Ready(m) => m.input_shape(),
            Inner::Pending(_) => None,
        }
    }
    fn params(&self) -> Vec<&Param> {
        match &self.inner {
            Inner::Ready(m) => m.layers().into_iter().flat_map(|l| l.params()).collect(),
            Inner::Pending(_) => Vec::new(),
        }
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        match &mut self.inner {
            Inner::Ready(m) => m
                .layers_mut()
                .into_iter()
                .flat_map(|l| l.params_mut())
                .collect(),
            Inner::Pending(_) => Vec::new(),
        }
    }
    fn named_params(&self) -> Vec<(String, &Param)> {
        match &self.inner {
            Inner::Ready(m) => m.named_params(),
            Inner::Pending(_) => Vec::new(),
        }
    }
    fn forward(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        self.model()?.forward(x, training)
    }
    fn regularization_loss(&self) -> Result<Option<Tensor>> {
        self.model()?.regularization_loss()
    }
    fn set_trainable(&mut self, trainable: bool) {
        self.common.trainable = trainable;
        if let Inner::Ready(m) = &mut self.inner {
            m.set_trainable(trainable);
        }
    }
    fn as_model(&self) -> Option<&dyn Model> {
        match &self.inner {
            Inner::Ready(m) => Some(m.as_ref()),
            Inner::Pending(_) => None,
        }
    }
    fn as_model_mut(&mut self) -> Option<&mut dyn Model> {
        match &mut self.inner {
            Inner::Ready(m) => Some(m.as_mut()),
            Inner::Pending(_) => None,
        }
    }
    fn config(&self) -> LayerConfig {
        let architecture = match &self.inner {
            Inner::Ready(m) => m.architecture(),
            Inner::Pending(a) => a.clone(),
        };
        LayerConfig::new::<Self>(&NestedModelConfig {
            common: self.common.clone(),
            architecture,
        })
    }
}
