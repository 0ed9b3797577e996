//! Filter patterns and class outputs by gradient ascent in input space (the book's "what
//! convnet filters respond to"): start from a gray image with noise, and repeatedly step
//! along the normalised gradient of the mean activation of one filter (or of one class
//! output) with respect to the image.
//!
//! Both recipes of the book are here ([`AscentConfig::first_edition`]: 40 steps of size 1
//! on a 150x150 image around gray 128 with RMS-normalised gradients;
//! [`AscentConfig::second_edition`]: 30 steps of size 10 on 200x200 around 0.5 with
//! L2-normalised gradients, 2-pixel borders left out of the objective and 25-pixel borders
//! cropped when shown), plus optional per-step jitter, scale and rotation that make
//! patterns cleaner. Many filters are ascended at once, one per image of a batch.
//!
//! # Shapes
//! Images are `(N, C, H, W)` in the model's input domain.

use convkit_layers::Model;
use convkit_tensor::tch::{Device, Kind, Tensor};
use image::RgbImage;
use rand::Rng;

use crate::gradcam::{conv_layer_names, find_layer};
use crate::{Error, Result};

/// How the gradient is normalised before each step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GradientNorm {
    /// `g / (sqrt(mean(g^2)) + 1e-5)` (the book's first edition).
    Rms,
    /// `g / max(||g||_2, 1e-6)` (`tf.math.l2_normalize`, the second edition).
    L2,
}

/// How the starting image is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StartImage {
    /// `center + uniform(0, 1) * spread`, per pixel (first edition: 128 + 20 * U).
    GrayNoise {
        /// Value around which the image starts.
        center: f64,
        /// Width of the uniform noise.
        spread: f64,
    },
}

/// Settings of one gradient ascent.
#[derive(Debug, Clone, PartialEq)]
pub struct AscentConfig {
    /// Steps.
    pub steps: usize,
    /// Step size (learning rate) on the normalised gradient.
    pub step_size: f64,
    /// Side of the square image.
    pub size: i64,
    /// Starting image.
    pub start: StartImage,
    /// Gradient normalisation.
    pub norm: GradientNorm,
    /// Border (in activation pixels) left out of the filter's mean activation.
    pub objective_border: i64,
    /// Border (in image pixels) cropped when the image is shown.
    pub display_crop: u32,
    /// Largest random shift (pixels) applied to the image before each step (0: none).
    pub jitter: i64,
    /// Random scale in `[1 - s, 1 + s]` before each step (0: none).
    pub scale: f64,
    /// Random rotation in `[-r, r]` degrees before each step (0: none).
    pub rotate_degrees: f64,
    /// Seed of the starting noise and the random transforms.
    pub seed: u64,
}

impl AscentConfig {
    /// The first edition's recipe: 40 steps of size 1, 150x150, gray 128 with noise of 20,
    /// RMS-normalised gradients.
    pub fn first_edition() -> Self {
        AscentConfig {
            steps: 40,
            step_size: 1.0,
            size: 150,
            start: StartImage::GrayNoise {
                center: 128.0,
                spread: 20.0,
            },
            norm: GradientNorm::Rms,
            objective_border: 0,
            display_crop: 0,
            jitter: 0,
            scale: 0.0,
            rotate_degrees: 0.0,
            seed: 1337,
        }
    }

    /// The second edition's recipe: 30 steps of learning rate 10, 200x200, uniform noise in
    /// `[0.4, 0.6]`, L2-normalised gradients, 2-pixel borders out of the objective and
    /// 25-pixel borders cropped when shown.
    pub fn second_edition() -> Self {
        AscentConfig {
            steps: 30,
            step_size: 10.0,
            size: 200,
            start: StartImage::GrayNoise {
                center: 0.4,
                spread: 0.2,
            },
            norm: GradientNorm::L2,
            objective_border: 2,
            display_crop: 25,
            ..Self::first_edition()
        }
    }

    /// Adds the regularisers: random shifts up to `jitter` pixels, scales within
    /// `1 +- scale` and rotations within `+- degrees` at every step.
    pub fn with_regularisers(mut self, jitter: i64, scale: f64, degrees: f64) -> Self {
        self.jitter = jitter;
        self.scale = scale;
        self.rotate_degrees = degrees;
        self
    }
}

/// What the ascent maximises.
#[derive(Debug, Clone, PartialEq)]
pub enum AscentTarget {
    /// The mean activation of channel `filters[i]` of `layer`, for image `i`.
    Filters {
        /// Layer name.
        layer: String,
        /// One channel per image.
        filters: Vec<i64>,
    },
    /// The model's output `classes[i]`, for image `i` (a class logit or probability).
    Classes(Vec<i64>),
}

impl AscentTarget {
    fn count(&self) -> usize {
        match self {
            AscentTarget::Filters { filters, .. } => filters.len(),
            AscentTarget::Classes(c) => c.len(),
        }
    }
}

/// The result of [`gradient_ascent`].
#[derive(Debug)]
pub struct AscentResult {
    /// The final images `(N, C, H, W)`.
    pub images: Tensor,
    /// The objective per step and image, measured on the un-transformed image before the
    /// step (`steps + 1` rows: the last is after the final step).
    pub objective: Vec<Vec<f64>>,
}

/// Checks `target` against `model` and returns the layer to read and the channel count.
fn check_target(model: &dyn Model, target: &AscentTarget) -> Result<(String, i64)> {
    match target {
        AscentTarget::Filters { layer, filters } => {
            let shape = find_layer(model, layer)?;
            if shape.len() != 3 {
                return Err(Error::NotSpatial {
                    layer: layer.clone(),
                    shape,
                    available: conv_layer_names(model),
                });
            }
            if let Some(f) = filters.iter().find(|&&f| f < 0 || f >= shape[0]) {
                return Err(Error::Invalid(format!(
                    "filter {f} is out of range: layer '{layer}' has {} channels",
                    shape[0]
                )));
            }
            Ok((layer.clone(), shape[0]))
        }
        AscentTarget::Classes(classes) => {
            let output = model
                .output_names()
                .into_iter()
                .next()
                .ok_or_else(|| Error::Invalid("the model has no output".into()))?;
            let shape = find_layer(model, &output)?;
            if shape.len() != 1 {
                return Err(Error::Invalid(format!(
                    "class outputs need a model with (classes) outputs; '{output}' gives {shape:?}"
                )));
            }
            if let Some(c) = classes.iter().find(|&&c| c < 0 || c >= shape[0]) {
                return Err(Error::ClassOutOfRange {
                    class: *c,
                    classes: shape[0],
                });
            }
            Ok((output, shape[0]))
        }
    }
}

/// Objective per image `(N,)` from the layer's output.
fn objective(out: &Tensor, target: &AscentTarget, border: i64) -> Result<Tensor> {
    let (indices, spatial) = match target {
        AscentTarget::Filters { filters, .. } => (filters, true),
        AscentTarget::Classes(classes) => (classes, false),
    };
    let index = Tensor::f_from_slice(indices)?.f_to_device(out.device())?;
    if !spatial {
        return Ok(out
            .f_gather(1, &index.f_view([-1, 1])?, false)?
            .f_view([-1])?);
    }
    let (h, w) = (out.size()[2], out.size()[3]);
    let b = if h > 2 * border && w > 2 * border {
        border
    } else {
        0
    };
    let n = out.size()[0];
    let maps = out
        .f_gather(
            1,
            &index.f_view([n, 1, 1, 1])?.f_expand([n, 1, h, w], false)?,
            false,
        )?
        .f_narrow(2, b, h - 2 * b)?
        .f_narrow(3, b, w - 2 * b)?;
    Ok(maps.f_mean_dim([1i64, 2, 3].as_slice(), false, Kind::Float)?)
}

/// A random similarity transform (shift, scale, rotation) per image, as sampling grids.
fn random_warp(x: &Tensor, cfg: &AscentConfig, rng: &mut impl Rng) -> Result<Option<Tensor>> {
    if cfg.jitter == 0 && cfg.scale == 0.0 && cfg.rotate_degrees == 0.0 {
        return Ok(None);
    }
    let size = x.size();
    let (n, h, w) = (size[0], size[2], size[3]);
    let mut theta = Vec::with_capacity((n * 6) as usize);
    for _ in 0..n {
        let s = 1.0 + rng.gen_range(-cfg.scale..=cfg.scale);
        let a = rng
            .gen_range(-cfg.rotate_degrees..=cfg.rotate_degrees)
            .to_radians();
        let j = cfg.jitter as f64;
        let (dx, dy) = (rng.gen_range(-j..=j), rng.gen_range(-j..=j));
        let (c, sn) = (a.cos() / s, a.sin() / s);
        theta.extend_from_slice(&[
            c as f32,
            -sn as f32,
            (2.0 * dx / w as f64) as f32,
            sn as f32,
            c as f32,
            (2.0 * dy / h as f64) as f32,
        ]);
    }
    let theta = Tensor::f_from_slice(&theta)?
        .f_view([n, 2, 3])?
        .f_to_device(x.device())?;
    Ok(Some(Tensor::f_affine_grid_generator(
        &theta,
        [n, size[1], h, w],
        false,
    )?))
}

/// Runs the ascent for every image of the target at once.
pub fn gradient_ascent(
    model: &dyn Model,
    target: &AscentTarget,
    cfg: &AscentConfig,
) -> Result<AscentResult> {
    let (layer, _) = check_target(model, target)?;
    let input = model
        .input_shape()
        .ok_or_else(|| Error::Invalid(format!("model '{}' is not built", model.name())))?
        .to_vec();
    if input.len() != 3 {
        return Err(Error::Invalid(format!(
            "gradient ascent needs an image model, (channels, height, width) inputs; '{}' takes {input:?}",
            model.name()
        )));
    }
    let n = target.count() as i64;
    if n == 0 {
        return Err(Error::Invalid(
            "gradient ascent: no filter or class given".into(),
        ));
    }
    let device = model.device();
    let mut rng = convkit_tensor::seed::rng_for("filter-ascent", cfg.seed);
    let StartImage::GrayNoise { center, spread } = cfg.start;
    let count = (n * input[0] * cfg.size * cfg.size) as usize;
    let start: Vec<f32> = (0..count)
        .map(|_| (center + spread * rng.gen::<f64>()) as f32)
        .collect();
    let mut img = Tensor::f_from_slice(&start)?
        .f_view([n, input[0], cfg.size, cfg.size])?
        .f_to_device(device)?;
    let measure = |img: &Tensor| -> Result<Vec<f64>> {
        let out =
            convkit_tensor::tch::no_grad(|| model.layer_outputs(img, &[layer.as_str()], false))?;
        let v = objective(&out[0], target, cfg.objective_border)?;
        Ok(Vec::<f64>::try_from(v.f_to_kind(Kind::Double)?)?)
    };
    let mut history = Vec::with_capacity(cfg.steps + 1);
    for _ in 0..cfg.steps {
        let x = img.f_detach()?.f_set_requires_grad(true)?;
        let warp = random_warp(&x, cfg, &mut rng)?;
        let seen = match &warp {
            Some(grid) => x.f_grid_sampler(grid, 0, 1, false)?,
            None => x.shallow_clone(),
        };
        let out = model.layer_outputs(&seen, &[layer.as_str()], false)?;
        let per_image = objective(&out[0], target, cfg.objective_border)?;
        // Without a warp the step's own forward pass measures the un-transformed image.
        history.push(match warp {
            Some(_) => measure(&img)?,
            None => Vec::<f64>::try_from(per_image.f_detach()?.f_to_kind(Kind::Double)?)?,
        });
        let loss = per_image.f_sum(Kind::Float)?;
        let grad = Tensor::f_run_backward(&[&loss], &[&x], false, false)?
            .pop()
            .ok_or_else(|| Error::Invalid("no gradient".into()))?;
        let dims = [1i64, 2, 3];
        let norm = match cfg.norm {
            GradientNorm::Rms => grad
                .f_square()?
                .f_mean_dim(dims.as_slice(), true, Kind::Float)?
                .f_sqrt()?
                .f_add_scalar(1e-5)?,
            GradientNorm::L2 => grad
                .f_square()?
                .f_sum_dim_intlist(dims.as_slice(), true, Kind::Float)?
                .f_sqrt()?
                .f_clamp_min(1e-6)?,
        };
        img = img.f_add(&grad.f_div(&norm)?.f_mul_scalar(cfg.step_size)?)?;
    }
    history.push(measure(&img)?);
    Ok(AscentResult {
        images: img,
        objective: history,
    })
}

/// The second edition's `deprocess_image`: standardise (mean 128, std 64 over the whole
/// image), clip to `[0, 255]`, crop `crop` pixels off each border. Takes `(C, H, W)` with 1
/// or 3 channels.
pub fn deprocess_image(img: &Tensor, crop: u32) -> Result<RgbImage> {
    let size = img.size();
    if size.len() != 3 || !(size[0] == 1 || size[0] == 3) {
        return Err(Error::Invalid(format!(
            "deprocess_image takes (1 or 3, H, W), got {size:?}"
        )));
    }
    let (c, h, w) = (size[0] as usize, size[1] as usize, size[2] as usize);
    let crop = crop as usize;
    if 2 * crop >= h || 2 * crop >= w {
        return Err(Error::Invalid(format!(
            "deprocess_image: a crop of {crop} leaves nothing of {h}x{w}"
        )));
    }
    let t = img
        .f_detach()?
        .f_to_device(Device::Cpu)?
        .f_to_kind(Kind::Float)?
        .f_contiguous()?;
    let levels =
        crate::activations::standardise_channel(&Vec::<f32>::try_from(&t.f_flatten(0, -1)?)?);
    let (ow, oh) = (w - 2 * crop, h - 2 * crop);
    Ok(RgbImage::from_fn(ow as u32, oh as u32, |x, y| {
        let at = |ch: usize| levels[ch * h * w + (y as usize + crop) * w + x as usize + crop];
        if c == 3 {
            image::Rgb([at(0), at(1), at(2)])
        } else {
            image::Rgb([at(0); 3])
        }
    }))
}

/// The book's grid of filter patterns: the first `count` filters of `layer` (at most its
/// channel count), `per_row` per row, `margin` pixels apart on black.
pub fn filter_grid(
    model: &dyn Model,
    layer: &str,
    count: usize,
    per_row: usize,
    margin: u32,
    cfg: &AscentConfig,
) -> Result<(RgbImage, AscentResult)> {
    let shape = find_layer(model, layer)?;
    let channels = shape.first().copied().unwrap_or(0).max(0) as usize;
    let target = AscentTarget::Filters {
        layer: layer.to_string(),
        filters: (0..count.min(channels) as i64).collect(),
    };
    let result = gradient_ascent(model, &target, cfg)?;
    let tiles = (0..target.count() as i64)
        .map(|i| deprocess_image(&result.images.f_get(i)?, cfg.display_crop))
        .collect::<Result<Vec<_>>>()?;
    Ok((tile_on_black(&tiles, per_row, margin)?, result))
}

/// Tiles same-size images `per_row` per row, `margin` pixels apart (and around) on black.
pub fn tile_on_black(tiles: &[RgbImage], per_row: usize, margin: u32) -> Result<RgbImage> {
    let first = tiles
        .first()
        .ok_or_else(|| Error::Invalid("no image to tile".into()))?;
    let (w, h) = first.dimensions();
    let per_row = per_row.clamp(1, tiles.len());
    let rows = tiles.len().div_ceil(per_row) as u32;
    let cols = per_row as u32;
    let mut out = RgbImage::new(cols * (w + margin) + margin, rows * (h + margin) + margin);
    for (i, t) in tiles.iter().enumerate() {
        let (r, k) = (i as u32 / cols, i as u32 % cols);
        image::imageops::replace(
            &mut out,
            t,
            i64::from(margin + k * (w + margin)),
            i64::from(margin + r * (h + margin)),
        );
    }
    Ok(out)
}
