//! Grad-CAM (Selvaraju et al.) and Grad-CAM++ (Chattopadhyay et al.): where in the image a
//! class score comes from, as the book computes it.
//!
//! For a chosen layer with a spatial output `A` (default: the last one, i.e. the last
//! convolution block's activation), the gradient of the class score with respect to `A` is
//! pooled per channel into weights; the weighted sum of the channels, through a ReLU and
//! divided by its maximum, is the heat map (`[0, 1]`, at the layer's resolution).
//!
//! # Shapes
//! - input: `(N, C, H, W)`, what the model takes (preprocessed as it expects);
//! - heat maps: `(N, h, w)` with `h x w` the layer's spatial size.
//!
//! # Example
//! ```no_run
//! # use convkit_viz::gradcam::{GradCam, CamMethod};
//! # fn f(model: &dyn convkit_layers::Model, x: &convkit_tensor::tch::Tensor) -> convkit_viz::Result<()> {
//! let cam = GradCam::new(model, None)?.method(CamMethod::GradCam);
//! let result = cam.compute(x, None)?;
//! println!("class {} from layer {}", result.classes[0], cam.layer());
//! # Ok(()) }
//! ```

use convkit_layers::Model;
use convkit_tensor::tch::{Kind, Tensor};

use crate::{Error, Result};

/// Which weighting of the channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CamMethod {
    /// Channel weights: the gradients averaged over the spatial positions.
    #[default]
    GradCam,
    /// Channel weights: positive gradients weighted by the second- and third-order terms of
    /// Grad-CAM++ (as `pytorch-grad-cam` computes them).
    GradCamPlusPlus,
}

impl CamMethod {
    /// Parses `gradcam` or `gradcam++` (also `gradcampp`, `gradcam-plus-plus`).
    pub fn from_name(name: &str) -> Option<CamMethod> {
        match name.to_ascii_lowercase().as_str() {
            "gradcam" | "grad-cam" => Some(CamMethod::GradCam),
            "gradcam++" | "gradcampp" | "gradcam-plus-plus" | "grad-cam++" => {
                Some(CamMethod::GradCamPlusPlus)
            }
            _ => None,
        }
    }
}

/// What [`GradCam::compute`] returns.
#[derive(Debug)]
pub struct CamResult {
    /// Heat maps in `[0, 1]`, `(N, h, w)`.
    pub heatmaps: Tensor,
    /// The class explained for each image.
    pub classes: Vec<i64>,
    /// The model's outputs `(N, classes)` (detached).
    pub predictions: Tensor,
}

/// Grad-CAM over one layer of a model.
pub struct GradCam<'m> {
    model: &'m dyn Model,
    layer: String,
    output: String,
    method: CamMethod,
}

/// Class names of convolution layers, listed in error messages.
fn is_conv(class_name: &str) -> bool {
    class_name.contains("Conv")
}

/// Names of the model's convolution layers (for error messages).
pub fn conv_layer_names(model: &dyn Model) -> Vec<String> {
    model
        .layers()
        .iter()
        .filter(|l| is_conv(l.class_name()))
        .map(|l| l.name().to_string())
        .collect()
}

/// The layer named `name` of `model` and its output shape (without batch), or an error that
/// lists the convolution layers.
pub(crate) fn find_layer(model: &dyn Model, name: &str) -> Result<Vec<i64>> {
    let shapes = model.layer_output_shapes();
    model
        .layers()
        .iter()
        .position(|l| l.name() == name)
        .map(|i| shapes.get(i).cloned().unwrap_or_default())
        .ok_or_else(|| Error::UnknownLayer {
            model: model.name().to_string(),
            layer: name.to_string(),
            available: conv_layer_names(model),
        })
}

/// The name of the last layer with a spatial output `(C, H, W)`.
pub fn last_spatial_layer(model: &dyn Model) -> Option<String> {
    let shapes = model.layer_output_shapes();
    model
        .layers()
        .iter()
        .zip(&shapes)
        .rev()
        .find(|(l, s)| s.len() == 3 && l.class_name() != "InputLayer")
        .map(|(l, _)| l.name().to_string())
}

impl<'m> GradCam<'m> {
    /// Grad-CAM of `model` over `layer` (default: the last layer with a spatial output). The
    /// layer must exist and have a `(C, H, W)` output.
    pub fn new(model: &'m dyn Model, layer: Option<&str>) -> Result<Self> {
        let layer = match layer {
            Some(l) => l.to_string(),
            None => last_spatial_layer(model).ok_or_else(|| {
                Error::Invalid(format!(
                    "model '{}' has no layer with a spatial (C, H, W) output to explain",
                    model.name()
                ))
            })?,
        };
        let shape = find_layer(model, &layer)?;
        if shape.len() != 3 {
            return Err(Error::NotSpatial {
                layer,
                shape,
                available: conv_layer_names(model),
            });
        }
        let output = model
            .output_names()
            .into_iter()
            .next()
            .ok_or_else(|| Error::Invalid(format!("model '{}' has no output", model.name())))?;
        Ok(GradCam {
            model,
            layer,
            output,
            method: CamMethod::GradCam,
        })
    }

    /// Sets the method.
    pub fn method(mut self, method: CamMethod) -> Self {
        self.method = method;
        self
    }

    /// The explained layer.
    pub fn layer(&self) -> &str {
        &self.layer
    }

    /// Heat maps for a batch `x`; `classes` gives the class per image (one for all, or one
    /// each), else each image's top class is explained.
    pub fn compute(&self, x: &Tensor, classes: Option<&[i64]>) -> Result<CamResult> {
        let x = x
            .f_to_device(self.model.device())?
            .f_to_kind(Kind::Float)?
            .f_detach()?
            .f_set_requires_grad(true)?;
        let outs =
            self.model
                .layer_outputs(&x, &[self.layer.as_str(), self.output.as_str()], false)?;
        let [acts, preds]: [Tensor; 2] = outs
            .try_into()
            .map_err(|_| Error::Invalid("layer_outputs returned the wrong count".into()))?;
        if preds.dim() != 2 {
            return Err(Error::Invalid(format!(
                "Grad-CAM needs a model whose output is (batch, classes); '{}' gives {:?}",
                self.output,
                preds.size()
            )));
        }
        let (n, k) = (preds.size()[0], preds.size()[1]);
        let chosen: Vec<i64> = match classes {
            None => Vec::<i64>::try_from(preds.f_argmax(1, false)?)?,
            Some([one]) => vec![*one; n as usize],
            Some(many) if many.len() == n as usize => many.to_vec(),
            Some(many) => {
                return Err(Error::Invalid(format!(
                    "{} class indices given for {n} images (give one for all, or one each)",
                    many.len()
                )))
            }
        };
        if let Some(bad) = chosen.iter().find(|&&c| c < 0 || c >= k) {
            return Err(Error::ClassOutOfRange {
                class: *bad,
                classes: k,
            });
        }
        let index = Tensor::f_from_slice(&chosen)?
            .f_to_device(preds.device())?
            .f_view([-1, 1])?;
        let score = preds.f_gather(1, &index, false)?.f_sum(Kind::Float)?;
        let grads = Tensor::f_run_backward(&[&score], &[&acts], false, false)?
            .pop()
            .ok_or_else(|| Error::Invalid("no gradient".into()))?;
        let acts = acts.f_detach()?;
        let heatmaps = convkit_tensor::tch::no_grad(|| -> Result<Tensor> {
            let weights = match self.method {
                CamMethod::GradCam => grads.f_mean_dim([2i64, 3].as_slice(), true, Kind::Float)?,
                CamMethod::GradCamPlusPlus => plus_plus_weights(&grads, &acts)?,
            };
            let cam = weights
                .f_mul(&acts)?
                .f_sum_dim_intlist([1i64].as_slice(), false, Kind::Float)?
                .f_relu()?;
            normalise_by_max(&cam)
        })?;
        Ok(CamResult {
            heatmaps,
            classes: chosen,
            predictions: preds.f_detach()?,
        })
    }
}

/// Grad-CAM++ channel weights `(N, C, 1, 1)`.
fn plus_plus_weights(grads: &Tensor, acts: &Tensor) -> Result<Tensor> {
    let g2 = grads.f_square()?;
    let g3 = g2.f_mul(grads)?;
    let sum_acts = acts.f_sum_dim_intlist([2i64, 3].as_slice(), true, Kind::Float)?;
    let denom = g2
        .f_mul_scalar(2.0)?
        .f_add(&sum_acts.f_mul(&g3)?)?
        .f_add_scalar(1e-6)?;
    let alpha = g2.f_div(&denom)?;
    let alpha = alpha.f_where_self(&grads.f_ne(0.0)?, &alpha.f_zeros_like()?)?;
    Ok(grads
        .f_relu()?
        .f_mul(&alpha)?
        .f_sum_dim_intlist([2i64, 3].as_slice(), true, Kind::Float)?)
}

/// Each map `(N, h, w)` divided by its maximum (maps that are all zero stay zero).
fn normalise_by_max(cam: &Tensor) -> Result<Tensor> {
    let n = cam.size()[0];
    let max = cam
        .f_reshape([n, -1])?
        .f_amax([1i64].as_slice(), false)?
        .f_view([n, 1, 1])?;
    let safe = max.f_where_self(&max.f_gt(0.0)?, &max.f_ones_like()?)?;
    Ok(cam.f_div(&safe)?)
}

/// A heat map `(h, w)` in `[0, 1]` resized (bilinear) to `width x height` and coloured with
/// `jet`.
pub fn heatmap_image(heatmap: &Tensor, width: u32, height: u32) -> Result<image::RgbImage> {
    let values = resize_map(heatmap, width, height)?;
    Ok(image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb(crate::Colormap::Jet.rgb(values[(y * width + x) as usize]))
    }))
}

/// The book's superimposition: the jet-coloured heat map times `alpha` (0.4) added to the
/// image, the sum rescaled to `[0, 255]` (Keras' `array_to_img`).
pub fn overlay(image: &image::RgbImage, heatmap: &Tensor, alpha: f32) -> Result<image::RgbImage> {
    let (w, h) = image.dimensions();
    let jet = heatmap_image(heatmap, w, h)?;
    let sum: Vec<f32> = image
        .as_raw()
        .iter()
        .zip(jet.as_raw())
        .map(|(&i, &j)| f32::from(i) + alpha * f32::from(j))
        .collect();
    let lo = sum.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = sum.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let bytes = sum
        .iter()
        .map(|v| ((v - lo) / span * 255.0).round().clamp(0.0, 255.0) as u8)
        .collect();
    image::RgbImage::from_raw(w, h, bytes)
        .ok_or_else(|| Error::Invalid("overlay: size mismatch".into()))
}

/// A `(h, w)` map resized (bilinear, half-pixel centres) to `width x height`, row-major.
fn resize_map(map: &Tensor, width: u32, height: u32) -> Result<Vec<f32>> {
    if map.dim() != 2 {
        return Err(Error::Invalid(format!(
            "a heat map is (h, w), got {:?}",
            map.size()
        )));
    }
    let (h, w) = (map.size()[0], map.size()[1]);
    let resized = map
        .f_to_device(convkit_tensor::tch::Device::Cpu)?
        .f_to_kind(Kind::Float)?
        .f_view([1, 1, h, w])?
        .f_upsample_bilinear2d([i64::from(height), i64::from(width)], false, None, None)?
        .f_flatten(0, -1)?;
    Ok(Vec::<f32>::try_from(&resized)?)
}
