//! Intermediate activations, as the book shows them: for one image, every channel of every
//! convolution and pooling layer, each channel standardised (mean 128, standard deviation
//! 64, clipped to `[0, 255]`; a constant channel stays blank), tiled 16 per row with a
//! 1-pixel gap and coloured with viridis; and one channel alone as a heat map.
//!
//! # Shapes
//! Activations are `(C, h, w)` (one image); models take `(1, C, H, W)`.

use std::path::{Path, PathBuf};

use convkit_layers::Model;
use convkit_tensor::tch::{Device, Kind, Tensor};
use image::RgbImage;

use crate::gradcam::find_layer;
use crate::{save_png, Colormap, Error, Result};

/// Channels per row of the book's grids.
pub const IMAGES_PER_ROW: usize = 16;

/// The book's display of one channel: `(x - mean) / std * 64 + 128`, clipped to `[0, 255]`.
/// A channel whose values are all equal (a blank channel, e.g. a dead ReLU) stays 0, with
/// no division by zero.
pub fn standardise_channel(values: &[f32]) -> Vec<u8> {
    let n = values.len().max(1) as f64;
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = values
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    let std = var.sqrt();
    if std.is_nan() || std <= 1e-12 || !std.is_finite() {
        return vec![0; values.len()];
    }
    values
        .iter()
        .map(|&v| ((f64::from(v) - mean) / std * 64.0 + 128.0).clamp(0.0, 255.0) as u8)
        .collect()
}

/// `(C, h, w)` on the CPU as f32, checked.
fn chw(act: &Tensor) -> Result<(Tensor, [usize; 3])> {
    let size = act.size();
    if size.len() != 3 {
        return Err(Error::Invalid(format!(
            "an activation to draw is (channels, height, width), got {size:?}"
        )));
    }
    let t = act
        .f_detach()?
        .f_to_device(Device::Cpu)?
        .f_to_kind(Kind::Float)?
        .f_contiguous()?;
    Ok((t, [size[0] as usize, size[1] as usize, size[2] as usize]))
}

/// Integer upscaling that brings a side of `side` pixels to at least `min_side`.
fn upscale_for(side: usize, min_side: usize) -> usize {
    min_side.div_ceil(side.max(1)).max(1)
}

/// Every channel of `act` `(C, h, w)` standardised, tiled `per_row` per row with a 1-pixel
/// gap, coloured with viridis; tiles are enlarged (nearest) to at least `min_tile` pixels.
pub fn channel_grid(act: &Tensor, per_row: usize, min_tile: usize) -> Result<RgbImage> {
    let (t, [c, h, w]) = chw(act)?;
    if c == 0 || h == 0 || w == 0 {
        return Err(Error::Invalid("channel_grid: empty activation".into()));
    }
    let values = Vec::<f32>::try_from(&t.f_flatten(0, -1)?)?;
    let per_row = per_row.clamp(1, c);
    let rows = c.div_ceil(per_row);
    let s = upscale_for(h.min(w), min_tile);
    let (th, tw) = (h * s, w * s);
    let width = per_row * (tw + 1) - 1;
    let height = rows * (th + 1) - 1;
    let mut levels = vec![0u8; width * height];
    for ch in 0..c {
        let plane = standardise_channel(&values[ch * h * w..(ch + 1) * h * w]);
        let (r, k) = (ch / per_row, ch % per_row);
        let (x0, y0) = (k * (tw + 1), r * (th + 1));
        for y in 0..th {
            for x in 0..tw {
                levels[(y0 + y) * width + x0 + x] = plane[(y / s) * w + x / s];
            }
        }
    }
    Ok(RgbImage::from_fn(width as u32, height as u32, |x, y| {
        image::Rgb(Colormap::Viridis.rgb_u8(levels[y as usize * width + x as usize]))
    }))
}

/// One channel of `act` `(C, h, w)` as a heat map (min to max mapped onto viridis, as
/// `matshow` draws it), enlarged (nearest) to at least `min_side` pixels.
pub fn channel_image(act: &Tensor, channel: usize, min_side: usize) -> Result<RgbImage> {
    let (t, [c, h, w]) = chw(act)?;
    if channel >= c {
        return Err(Error::Invalid(format!(
            "channel {channel} is out of range: the activation has {c} channels"
        )));
    }
    let values = Vec::<f32>::try_from(&t.f_get(channel as i64)?.f_flatten(0, -1)?)?;
    let lo = values.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let s = upscale_for(h.min(w), min_side);
    Ok(RgbImage::from_fn((w * s) as u32, (h * s) as u32, |x, y| {
        let v = values[(y as usize / s) * w + x as usize / s];
        image::Rgb(Colormap::Viridis.rgb((v - lo) / span))
    }))
}

/// Whether the book draws this layer: convolutions and (non-global) pooling layers.
fn is_drawn(class_name: &str) -> bool {
    class_name.contains("Conv")
        || (class_name.contains("Pooling2D") && !class_name.starts_with("Global"))
}

/// Names of the layers [`layer_activations`] draws by default: every convolution and pooling
/// layer with a spatial output, in model order.
pub fn default_layers(model: &dyn Model) -> Vec<String> {
    let shapes = model.layer_output_shapes();
    model
        .layers()
        .iter()
        .zip(&shapes)
        .filter(|(l, s)| is_drawn(l.class_name()) && s.len() == 3)
        .map(|(l, _)| l.name().to_string())
        .collect()
}

/// The activations `(C, h, w)` of `layers` (default: [`default_layers`]) for one image `x`
/// `(1, C, H, W)` or `(C, H, W)`, in inference mode.
pub fn layer_activations(
    model: &dyn Model,
    x: &Tensor,
    layers: Option<&[String]>,
) -> Result<Vec<(String, Tensor)>> {
    let names: Vec<String> = match layers {
        Some(l) => l.to_vec(),
        None => default_layers(model),
    };
    for name in &names {
        let shape = find_layer(model, name)?;
        if shape.len() != 3 {
            return Err(Error::NotSpatial {
                layer: name.clone(),
                shape,
                available: crate::gradcam::conv_layer_names(model),
            });
        }
    }
    let x = match x.dim() {
        3 => x.f_unsqueeze(0)?,
        4 if x.size()[0] == 1 => x.shallow_clone(),
        _ => {
            return Err(Error::Invalid(format!(
                "activations are drawn for one image, (C, H, W) or (1, C, H, W); got {:?}",
                x.size()
            )))
        }
    };
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let outs = convkit_tensor::tch::no_grad(|| model.layer_outputs(&x, &refs, false))?;
    names
        .into_iter()
        .zip(outs)
        .map(|(n, t)| Ok((n, t.f_get(0)?)))
        .collect()
}

/// Writes one grid per layer as `dir/<layer>.png` (see [`channel_grid`]) and returns the
/// paths.
pub fn save_activation_grids(
    activations: &[(String, Tensor)],
    dir: &Path,
    min_tile: usize,
) -> Result<Vec<PathBuf>> {
    activations
        .iter()
        .map(|(name, act)| {
            let path = dir.join(format!("{}.png", name.replace(['/', '\\'], "_")));
            save_png(&channel_grid(act, IMAGES_PER_ROW, min_tile)?, &path)?;
            Ok(path)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standardisation_follows_the_book_and_leaves_blank_channels_blank() {
        let v = [0.0f32, 1.0, 2.0, 3.0];
        // mean 1.5, std sqrt(1.25): (0 - 1.5) / 1.118 * 64 + 128 = 42.1 -> 42
        assert_eq!(standardise_channel(&v), [42, 99, 156, 213]);
        assert_eq!(standardise_channel(&[0.0; 5]), [0; 5]);
        assert_eq!(standardise_channel(&[3.5; 3]), [0; 3]);
    }

    #[test]
    fn grid_layout_is_16_per_row_with_one_pixel_gaps() {
        let act = Tensor::randn([20, 5, 6], (Kind::Float, Device::Cpu));
        let g = channel_grid(&act, IMAGES_PER_ROW, 1).unwrap();
        assert_eq!(g.dimensions(), ((16 * 7 - 1) as u32, (2 * 6 - 1) as u32));
        let big = channel_grid(&act, IMAGES_PER_ROW, 20).unwrap();
        // tiles enlarged 4x (5 -> 20 rows, 6 -> 24 columns)
        assert_eq!(
            big.dimensions(),
            ((16 * 25 - 1) as u32, (2 * 21 - 1) as u32)
        );
    }
}
