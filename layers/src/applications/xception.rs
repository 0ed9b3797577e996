//! Xception (Chollet, 2017), layer for layer as `keras.applications.Xception`.

use convkit_tensor::tch::{Device, Kind, Tensor};

use crate::layers::{
    ActivationLayer, Add, BatchNormalization, Conv2D, GlobalAveragePooling2D, MaxPooling2D,
    SeparableConv2D,
};
use crate::models::functional::{Functional, Graph, SymbolicTensor};
use crate::{Activation, LayerBuilder, Padding, Result};

use super::ApplicationConfig;

struct Builder {
    g: Graph,
}

impl Builder {
    fn layer(
        &mut self,
        l: impl crate::models::functional::IntoLayer,
        x: SymbolicTensor,
    ) -> Result<SymbolicTensor> {
        self.g.apply(l, x)
    }
    fn relu(&mut self, name: &str, x: SymbolicTensor) -> Result<SymbolicTensor> {
        self.layer(ActivationLayer::new(Activation::Relu).named(name), x)
    }
    fn bn(&mut self, name: Option<String>, x: SymbolicTensor) -> Result<SymbolicTensor> {
        match name {
            Some(n) => self.layer(BatchNormalization::new().named(n), x),
            None => self.layer(BatchNormalization::new(), x),
        }
    }
    fn sepconv_bn(
        &mut self,
        filters: i64,
        name: &str,
        x: SymbolicTensor,
    ) -> Result<SymbolicTensor> {
        let conv = SeparableConv2D::new(filters, 3)
            .padding(Padding::Same)
            .use_bias(false)
            .named(name);
        let x = self.layer(conv, x)?;
        self.bn(Some(format!("{name}_bn")), x)
    }
    /// The unnamed strided 1x1 shortcut (`conv2d_N` + `batch_normalization_N`).
    fn shortcut(&mut self, filters: i64, x: SymbolicTensor) -> Result<SymbolicTensor> {
        let conv = Conv2D::new(filters, 1)
            .strides(2)
            .padding(Padding::Same)
            .use_bias(false);
        let r = self.layer(conv, x)?;
        self.bn(None, r)
    }
    fn pool(&mut self, name: &str, x: SymbolicTensor) -> Result<SymbolicTensor> {
        self.layer(
            MaxPooling2D::new(3)
                .strides(2)
                .padding(Padding::Same)
                .named(name),
            x,
        )
    }
    fn add(&mut self, a: SymbolicTensor, b: SymbolicTensor) -> Result<SymbolicTensor> {
        self.g.merge(Add::new(), &[a, b])
    }
}

/// Xception: entry flow (blocks 1-4), middle flow (blocks 5-12, residual), exit flow (blocks
/// 13-14), then optionally `avg_pool` and `predictions`. 22,910,480 parameters with the top.
/// Layer names are Keras' (`block1_conv1`, `block2_sepconv1_bn`, `block14_sepconv2_act`...),
/// including the automatic names of the unnamed shortcut layers (`conv2d`,
/// `batch_normalization_1`, `add_2`...), so Keras weights map by name.
pub fn xception(config: &ApplicationConfig, device: Device) -> Result<Functional> {
    let mut b = Builder {
        g: Graph::new().on_device(device),
    };
    let inputs = b.g.input(config.shape_or(299));
    let conv = Conv2D::new(32, 3)
        .strides(2)
        .use_bias(false)
        .named("block1_conv1");
    let x = b.layer(conv, inputs)?;
    let x = b.bn(Some("block1_conv1_bn".into()), x)?;
    let x = b.relu("block1_conv1_act", x)?;
    let x = b.layer(Conv2D::new(64, 3).use_bias(false).named("block1_conv2"), x)?;
    let x = b.bn(Some("block1_conv2_bn".into()), x)?;
    let x = b.relu("block1_conv2_act", x)?;

    // Block 2 (no ReLU before the first separable conv).
    let residual = b.shortcut(128, x)?;
    let x = b.sepconv_bn(128, "block2_sepconv1", x)?;
    let x = b.relu("block2_sepconv2_act", x)?;
    let x = b.sepconv_bn(128, "block2_sepconv2", x)?;
    let x = b.pool("block2_pool", x)?;
    let mut x = b.add(x, residual)?;

    for (block, filters) in [(3, 256), (4, 728)] {
        let residual = b.shortcut(filters, x)?;
        let y = b.relu(&format!("block{block}_sepconv1_act"), x)?;
        let y = b.sepconv_bn(filters, &format!("block{block}_sepconv1"), y)?;
        let y = b.relu(&format!("block{block}_sepconv2_act"), y)?;
        let y = b.sepconv_bn(filters, &format!("block{block}_sepconv2"), y)?;
        let y = b.pool(&format!("block{block}_pool"), y)?;
        x = b.add(y, residual)?;
    }

    for i in 0..8 {
        let prefix = format!("block{}", i + 5);
        let residual = x;
        let mut y = x;
        for k in 1..=3 {
            y = b.relu(&format!("{prefix}_sepconv{k}_act"), y)?;
            y = b.sepconv_bn(728, &format!("{prefix}_sepconv{k}"), y)?;
        }
        x = b.add(y, residual)?;
    }

    let residual = b.shortcut(1024, x)?;
    let y = b.relu("block13_sepconv1_act", x)?;
    let y = b.sepconv_bn(728, "block13_sepconv1", y)?;
    let y = b.relu("block13_sepconv2_act", y)?;
    let y = b.sepconv_bn(1024, "block13_sepconv2", y)?;
    let y = b.pool("block13_pool", y)?;
    let x = b.add(y, residual)?;

    let x = b.sepconv_bn(1536, "block14_sepconv1", x)?;
    let x = b.relu("block14_sepconv1_act", x)?;
    let x = b.sepconv_bn(2048, "block14_sepconv2", x)?;
    let x = b.relu("block14_sepconv2_act", x)?;
    let x = config.top(&mut b.g, x, |g, x| {
        g.apply(GlobalAveragePooling2D::new().named("avg_pool"), x)
    })?;
    b.g.model("xception", &[inputs], &[x])
}

/// Keras' `xception.preprocess_input` ("tf" mode): `[0, 255]` -> `[-1, 1]`.
pub fn preprocess_input(x: &Tensor) -> Result<Tensor> {
    Ok(x.f_to_kind(Kind::Float)?
        .f_div_scalar(127.5)?
        .f_sub_scalar(1.0)?)
}
