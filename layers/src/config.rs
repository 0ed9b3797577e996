//! Serializable layer configurations: `{"class_name": "Conv2D", "config": {...}}`, as in
//! Keras' `model.json`.

use serde::{Deserialize, Serialize};

use crate::layers::activation::ActivationConfig;
use crate::layers::batch_normalization::BatchNormConfig;
use crate::layers::conv2d::Conv2DConfig;
use crate::layers::dense::DenseConfig;
use crate::layers::dropout::DropoutConfig;
use crate::layers::flatten::PlainConfig;
use crate::layers::global_average_pooling2d::GlobalPoolConfig;
use crate::layers::pooling_common::Pool2DConfig;
use crate::layers::preprocessing::{
    RandomContrastConfig, RandomFlipConfig, RandomRotationConfig, RandomTranslationConfig,
    RandomZoomConfig, RescalingConfig,
};
use crate::layers::*;
use crate::Layer;

/// The configuration of any layer, tagged with its Keras class name.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "class_name", content = "config")]
#[allow(missing_docs)]
pub enum LayerConfig {
    Conv2D(Conv2DConfig),
    MaxPooling2D(Pool2DConfig),
    AveragePooling2D(Pool2DConfig),
    GlobalAveragePooling2D(GlobalPoolConfig),
    Flatten(PlainConfig),
    Dense(DenseConfig),
    Dropout(DropoutConfig),
    BatchNormalization(BatchNormConfig),
    Activation(ActivationConfig),
    Rescaling(RescalingConfig),
    RandomFlip(RandomFlipConfig),
    RandomRotation(RandomRotationConfig),
    RandomZoom(RandomZoomConfig),
    RandomTranslation(RandomTranslationConfig),
    RandomContrast(RandomContrastConfig),
}

impl LayerConfig {
    /// An unbuilt layer with this configuration.
    pub fn into_layer(self) -> Box<dyn Layer> {
        match self {
            LayerConfig::Conv2D(c) => Box::new(Conv2D::from_config(c)),
            LayerConfig::MaxPooling2D(c) => Box::new(MaxPooling2D::from_config(c)),
            LayerConfig::AveragePooling2D(c) => Box::new(AveragePooling2D::from_config(c)),
            LayerConfig::GlobalAveragePooling2D(c) => {
                Box::new(GlobalAveragePooling2D::from_config(c))
            }
            LayerConfig::Flatten(c) => Box::new(Flatten::from_config(c)),
            LayerConfig::Dense(c) => Box::new(Dense::from_config(c)),
            LayerConfig::Dropout(c) => Box::new(Dropout::from_config(c)),
            LayerConfig::BatchNormalization(c) => Box::new(BatchNormalization::from_config(c)),
            LayerConfig::Activation(c) => Box::new(ActivationLayer::from_config(c)),
            LayerConfig::Rescaling(c) => Box::new(Rescaling::from_config(c)),
            LayerConfig::RandomFlip(c) => Box::new(RandomFlip::from_config(c)),
            LayerConfig::RandomRotation(c) => Box::new(RandomRotation::from_config(c)),
            LayerConfig::RandomZoom(c) => Box::new(RandomZoom::from_config(c)),
            LayerConfig::RandomTranslation(c) => Box::new(RandomTranslation::from_config(c)),
            LayerConfig::RandomContrast(c) => Box::new(RandomContrast::from_config(c)),
        }
    }
}
