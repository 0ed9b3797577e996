//! A layer type defined outside the crate joins the catalogue with `register::<T>()` and then
//! trains, saves, loads and appears in `summary()` like a built-in one (what Keras'
//! `register_keras_serializable` gives Python layers).

use convkit_layers::layers::{layer_from_config, register, LayerConfig, SerializableLayer};
use convkit_layers::prelude::*;
use convkit_layers::{LayerCommon, Param};
use convkit_tensor::tch::{Device, Kind, Tensor};
use serde::{Deserialize, Serialize};

/// `y = x * scale + offset`, with one trainable scale per channel.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ChannelScaleConfig {
    #[serde(flatten)]
    common: LayerCommon,
    offset: f64,
}

#[derive(Debug)]
struct ChannelScale {
    config: ChannelScaleConfig,
    scale: Option<Param>,
    input_shape: Option<Vec<i64>>,
}

impl ChannelScale {
    fn new(offset: f64) -> Self {
        Self::from_config(ChannelScaleConfig {
            common: LayerCommon::new(),
            offset,
        })
    }
}

impl SerializableLayer for ChannelScale {
    const CLASS_NAME: &'static str = "ChannelScale";
    type Config = ChannelScaleConfig;
    fn from_config(config: ChannelScaleConfig) -> Self {
        ChannelScale {
            config,
            scale: None,
            input_shape: None,
        }
    }
}

impl Layer for ChannelScale {
    fn class_name(&self) -> &'static str {
        Self::CLASS_NAME
    }
    fn base_name(&self) -> &'static str {
        "channel_scale"
    }
    fn common(&self) -> &LayerCommon {
        &self.config.common
    }
    fn common_mut(&mut self) -> &mut LayerCommon {
        &mut self.config.common
    }
    fn compute_output_shape(&self, input_shape: &[i64]) -> convkit_layers::Result<Vec<i64>> {
        if input_shape.len() != 3 {
            return Err(self.shape_error("(None, channels, height, width)", input_shape));
        }
        Ok(input_shape.to_vec())
    }
    fn build(&mut self, input_shape: &[i64], device: Device) -> convkit_layers::Result<Vec<i64>> {
        let out = self.compute_output_shape(input_shape)?;
        let ones = Tensor::f_ones([input_shape[0]], (Kind::Float, device))?;
        self.scale = Some(Param::trainable("scale", ones));
        self.input_shape = Some(input_shape.to_vec());
        Ok(out)
    }
    fn built_input_shape(&self) -> Option<&[i64]> {
        self.input_shape.as_deref()
    }
    fn params(&self) -> Vec<&Param> {
        self.scale.iter().collect()
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.scale.iter_mut().collect()
    }
    fn forward(&self, x: &Tensor, _training: bool) -> convkit_layers::Result<Tensor> {
        self.check_input(x)?;
        let scale = self
            .scale
            .as_ref()
            .ok_or_else(|| self.config_error("called before being built"))?;
        let s = scale.tensor.f_view([1, -1, 1, 1])?;
        Ok(x.f_mul(&s)?.f_add_scalar(self.config.offset)?)
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::new::<Self>(&self.config)
    }
}

fn model_with_custom_layer() -> Sequential {
    let mut m = Sequential::new();
    m.add(Conv2D::new(4, 3).input_shape([1, 8, 8])).unwrap();
    m.add(ChannelScale::new(0.5)).unwrap();
    m.add(Flatten::new()).unwrap();
    m.add(Dense::new(2).activation(Activation::Softmax))
        .unwrap();
    m
}

#[test]
fn a_registered_custom_layer_trains_saves_loads_and_shows_in_the_summary() {
    let saved = ChannelScale::new(0.5).config();
    let e = layer_from_config(&saved).unwrap_err().to_string();
    assert!(e.contains("unknown layer class 'ChannelScale'"), "{e}");
    register::<ChannelScale>();
    assert_eq!(layer_from_config(&saved).unwrap().config(), saved);
    convkit_tensor::seed::set_seed(7);
    let mut m = model_with_custom_layer();
    let summary = m.summary().to_string();
    assert!(
        summary.contains("channel_scale (ChannelScale)"),
        "{summary}"
    );
    // 4 scales among the trainable parameters: conv 40 + scale 4 + dense 2 * 144 + 2.
    assert_eq!(m.count_params(), 40 + 4 + 290);

    let x = Tensor::f_rand([64, 1, 8, 8], (Kind::Float, Device::Cpu)).unwrap();
    let labels = x
        .f_mean_dim([1i64, 2, 3].as_slice(), false, Kind::Float)
        .unwrap()
        .f_gt(0.5)
        .unwrap()
        .to_kind(Kind::Int64);
    let y = labels.one_hot(2).to_kind(Kind::Float);
    m.compile(
        RMSprop::new().learning_rate(0.01),
        Loss::CategoricalCrossentropy { from_logits: false },
        &[Metric::Accuracy],
    )
    .unwrap();
    let before = m.get_layer("channel_scale").unwrap().params()[0]
        .tensor
        .copy();
    m.fit(
        &x,
        &y,
        FitOptions::new()
            .epochs(2)
            .batch_size(16)
            .verbose(Verbosity::Silent),
    )
    .unwrap();
    let after = &m.get_layer("channel_scale").unwrap().params()[0].tensor;
    assert!(
        (after - &before).abs().max().double_value(&[]) > 0.0,
        "the custom layer's weight was not trained"
    );

    let dir = tempfile::tempdir().unwrap();
    m.save(dir.path()).unwrap();
    let loaded = load_model(dir.path(), Device::Cpu).unwrap();
    assert_eq!(
        loaded.get_layer("channel_scale").unwrap().class_name(),
        "ChannelScale"
    );
    let expected = m.predict(&x, 32).unwrap();
    let got = loaded.predict(&x, 32).unwrap();
    assert!((expected - got).abs().max().double_value(&[]) < 1e-6);
    assert!(loaded
        .summary()
        .to_string()
        .contains("channel_scale (ChannelScale)"));
}

#[test]
fn the_catalogue_names_the_layer_and_the_argument_it_does_not_know() {
    let unknown_class = LayerConfig {
        class_name: "NoSuchLayer".into(),
        config: serde_json::json!({"name": "mystery"}),
    };
    let e = layer_from_config(&unknown_class).unwrap_err().to_string();
    assert!(e.contains("mystery") && e.contains("NoSuchLayer"), "{e}");
    assert!(e.contains("Conv2D"), "the known classes are listed: {e}");

    let mut conv = Conv2D::new(8, 3).config();
    conv.config["name"] = "c1".into();
    conv.config["kernal_size"] = 3.into();
    let e = layer_from_config(&conv).unwrap_err().to_string();
    assert!(e.contains("c1") && e.contains("kernal_size"), "{e}");
    assert!(
        e.contains("kernel_size"),
        "the accepted arguments are listed: {e}"
    );

    let mut wrong_type = Dense::new(8).config();
    wrong_type.config["units"] = "eight".into();
    let e = layer_from_config(&wrong_type).unwrap_err().to_string();
    assert!(e.contains("Dense") && e.contains("invalid argument"), "{e}");

    // Every built-in layer's configuration goes through the catalogue unchanged.
    for layer in [
        Conv2D::new(8, 3).config(),
        Dense::new(3).config(),
        MaxPooling2D::new(2).config(),
        RandomFlip::new(FlipMode::Horizontal).config(),
        BatchNormalization::new().config(),
    ] {
        let rebuilt = layer_from_config(&layer).unwrap();
        assert_eq!(rebuilt.config(), layer);
    }
}
