//! Serializable layer configurations: `{"class_name": "Conv2D", "config": {...}}`, as in
//! Keras' `model.json`.

use serde::{Deserialize, Serialize};

use crate::functional::input_layer::InputLayerConfig;
use crate::functional::nested::NestedModelConfig;
use crate::functional::{InputLayer, ModelLayer};
use crate::layers::activation::ActivationConfig;
use crate::layers::batch_normalization::BatchNormConfig;
use crate::layers::conv2d::Conv2DConfig;
use crate::layers::conv2d_transpose::Conv2DTransposeConfig;
use crate::layers::dense::DenseConfig;
use crate::layers::depthwise_conv2d::DepthwiseConv2DConfig;
use crate::layers::dropout::DropoutConfig;
use crate::layers::flatten::PlainConfig;
use crate::layers::global_pooling_common::GlobalPoolConfig;
use crate::layers::merging::ConcatenateConfig;
use crate::layers::pooling_common::Pool2DConfig;
use crate::layers::preprocessing::{
    RandomContrastConfig, RandomFlipConfig, RandomRotationConfig, RandomTranslationConfig,
    RandomZoomConfig, RescalingConfig,
};
use crate::layers::relu::ReLUConfig;
use crate::layers::resizing::ResizingConfig;
use crate::layers::separable_conv2d::SeparableConv2DConfig;
use crate::layers::up_sampling2d::UpSampling2DConfig;
use crate::layers::zero_padding2d::ZeroPadding2DConfig;
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
    GlobalMaxPooling2D(GlobalPoolConfig),
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
    DepthwiseConv2D(DepthwiseConv2DConfig),
    SeparableConv2D(SeparableConv2DConfig),
    Conv2DTranspose(Conv2DTransposeConfig),
    ZeroPadding2D(ZeroPadding2DConfig),
    UpSampling2D(UpSampling2DConfig),
    Resizing(ResizingConfig),
    ReLU(ReLUConfig),
    Add(PlainConfig),
    Subtract(PlainConfig),
    Multiply(PlainConfig),
    Average(PlainConfig),
    Maximum(PlainConfig),
    Minimum(PlainConfig),
    Concatenate(ConcatenateConfig),
    InputLayer(InputLayerConfig),
    /// A nested model.
    Model(NestedModelConfig),
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
            LayerConfig::GlobalMaxPooling2D(c) => Box::new(GlobalMaxPooling2D::from_config(c)),
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
            LayerConfig::DepthwiseConv2D(c) => Box::new(DepthwiseConv2D::from_config(c)),
            LayerConfig::SeparableConv2D(c) => Box::new(SeparableConv2D::from_config(c)),
            LayerConfig::Conv2DTranspose(c) => Box::new(Conv2DTranspose::from_config(c)),
            LayerConfig::ZeroPadding2D(c) => Box::new(ZeroPadding2D::from_config(c)),
            LayerConfig::UpSampling2D(c) => Box::new(UpSampling2D::from_config(c)),
            LayerConfig::Resizing(c) => Box::new(Resizing::from_config(c)),
            LayerConfig::ReLU(c) => Box::new(ReLU::from_config(c)),
            LayerConfig::Add(c) => Box::new(Add::from_config(c)),
            LayerConfig::Subtract(c) => Box::new(Subtract::from_config(c)),
            LayerConfig::Multiply(c) => Box::new(Multiply::from_config(c)),
            LayerConfig::Average(c) => Box::new(Average::from_config(c)),
            LayerConfig::Maximum(c) => Box::new(Maximum::from_config(c)),
            LayerConfig::Minimum(c) => Box::new(Minimum::from_config(c)),
            LayerConfig::Concatenate(c) => Box::new(Concatenate::from_config(c)),
            LayerConfig::InputLayer(c) => Box::new(InputLayer::from_config(c)),
            LayerConfig::Model(c) => Box::new(ModelLayer::from_config(c)),
        }
    }
}
