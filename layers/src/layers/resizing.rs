//! `Resizing`: resizes images to a fixed size inside the model.

use convkit_tensor::tch::Tensor;
use serde::{Deserialize, Serialize};

use crate::layers::layer::{Layer, LayerCommon, LayerConfig, SerializableLayer};
use crate::Result;

use super::resize_common::{resize_nchw, ResizeInterpolation};

/// Configuration of [`Resizing`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ResizingConfig {
    /// Name, trainable, input shape.
    #[serde(flatten)]
    pub common: LayerCommon,
    /// Output height.
    pub height: i64,
    /// Output width.
    pub width: i64,
    /// `bilinear` (default), `nearest` or `bicubic`.
    pub interpolation: ResizeInterpolation,
    /// Crop the largest centred window with the target aspect ratio before resizing.
    #[serde(default)]
    pub crop_to_aspect_ratio: bool,
}

/// Resizes images to `(height, width)` (Keras' `Resizing`; torch backend semantics: half-pixel
/// centres, no antialiasing).
///
/// # Shapes
/// `(N, C, H, W)` -> `(N, C, height, width)`.
#[derive(Debug)]
pub struct Resizing {
    config: ResizingConfig,
    input_shape: Option<Vec<i64>>,
}

impl Resizing {
    /// Bilinear resizing to `(height, width)`.
    pub fn new(height: i64, width: i64) -> Self {
        Self::from_config(ResizingConfig {
            common: LayerCommon::new(),
            height,
            width,
            interpolation: ResizeInterpolation::Bilinear,
            crop_to_aspect_ratio: false,
        })
    }
    /// Sets the interpolation.
    pub fn interpolation(mut self, i: ResizeInterpolation) -> Self {
        self.config.interpolation = i;
        self
    }
    /// Crops to the target aspect ratio first.
    pub fn crop_to_aspect_ratio(mut self, crop: bool) -> Self {
        self.config.crop_to_aspect_ratio = crop;
        self
    }
}

/// The centred crop window `(top, left, height, width)` with the target aspect ratio, as
/// Keras computes it.
fn crop_window(h: i64, w: i64, th: i64, tw: i64) -> (i64, i64, i64, i64) {
    let ch = ((w as f64 * th as f64) / tw as f64) as i64;
    let ch = ch.min(h).max(1);
    let cw = ((h as f64 * tw as f64) / th as f64) as i64;
    let cw = cw.min(w).max(1);
    (
        ((h - ch) as f64 / 2.0) as i64,
        ((w - cw) as f64 / 2.0) as i64,
        ch,
        cw,
    )
}

impl SerializableLayer for Resizing {
    const CLASS_NAME: &'static str = "Resizing";
    type Config = ResizingConfig;

    fn from_config(config: ResizingConfig) -> Self {
        Resizing {
            config,
            input_shape: None,
        }
    }
}

impl Layer for Resizing {
    common_accessors!();
    fn class_name(&self) -> &'static str {
        Self::CLASS_NAME
    }
    fn base_name(&self) -> &'static str {
        "resizing"
    }
    fn compute_output_shape(&self, input_shape: &[i64]) -> Result<Vec<i64>> {
        let [c, _, _] = super::expect_chw(self, input_shape)?;
        if self.config.height < 1 || self.config.width < 1 {
            return Err(self.config_error(&format!(
                "height and width must be >= 1, got {} and {}",
                self.config.height, self.config.width
            )));
        }
        Ok(vec![c, self.config.height, self.config.width])
    }
    parameterless_build!();
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        self.check_input(x)?;
        let c = &self.config;
        let size = x.size();
        let x = if c.crop_to_aspect_ratio {
            let (top, left, ch, cw) = crop_window(size[2], size[3], c.height, c.width);
            x.f_narrow(2, top, ch)?.f_narrow(3, left, cw)?
        } else {
            x.shallow_clone()
        };
        resize_nchw(&x, [c.height, c.width], c.interpolation)
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::new::<Self>(&self.config)
    }
}
