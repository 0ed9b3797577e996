//! # convkit-viz
//!
//! Pictures a person would rather look at than read, written as PNG:
//! - [`curves`]: training curves (the book's accuracy and loss figures) from a history;
//! - [`activations`]: every channel of intermediate layers for one image, tiled;
//! - [`filters`]: filter patterns and class outputs found by gradient ascent in input space;
//! - [`gradcam`]: Grad-CAM and Grad-CAM++ heat maps over the image, and [`explanation`]: the
//!   image, its heat map and both superimposed in one captioned figure;
//! - [`masks`]: segmentation masks in colour;
//! - [`colormap`]: viridis and jet;
//! - [`grid`]: image grids (augmented samples, activations);
//! - [`confusion`]: confusion matrices;
//! - [`font`]: the embedded DejaVu Sans every picture writes in, anti-aliased through `imageproc`;
//! - [`raster`]: the `plotters` backend that draws plots on an image (anti-aliased, as
//!   matplotlib's Agg); the same plot code writes SVG through plotters' `SVGBackend`.
#![warn(missing_docs)]
// Library code returns errors: no unwrap, expect or panic outside tests (each allow says why).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod activations;
pub mod colormap;
mod colormap_tables;
pub mod confusion;
pub mod curves;
pub mod explanation;
pub mod filters;
pub mod font;
pub mod gradcam;
pub mod grid;
pub mod masks;
pub mod raster;

use std::path::{Path, PathBuf};

pub use activations::{layer_activations, save_activation_grids};
pub use colormap::Colormap;
pub use curves::{
    plot_panels, save_training_curves, save_training_curves_with, smooth_curve, CurveOptions,
    Panel, Series,
};
pub use explanation::explanation_figure;
pub use gradcam::{heatmap_image, overlay, CamMethod, CamResult, GradCam};
pub use grid::image_grid;

/// Errors raised by convkit-viz.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A picture could not be written.
    #[error("{path}: {problem}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        problem: String,
    },
    /// A plot could not be drawn.
    #[error("drawing a plot: {0}")]
    Plot(String),
    /// An invalid argument.
    #[error("{0}")]
    Invalid(String),
    /// No layer of that name.
    #[error("model '{model}' has no layer '{layer}'; its convolution layers are: {}", available.join(", "))]
    UnknownLayer {
        /// The model.
        model: String,
        /// The name asked for.
        layer: String,
        /// The convolution layers there are.
        available: Vec<String>,
    },
    /// The layer's output has no spatial axes.
    #[error("layer '{layer}' has output shape {shape:?}, not a spatial (channels, height, width) map; convolution layers: {}", available.join(", "))]
    NotSpatial {
        /// The layer.
        layer: String,
        /// Its output shape (without batch).
        shape: Vec<i64>,
        /// The convolution layers there are.
        available: Vec<String>,
    },
    /// A class index beyond the model's outputs.
    #[error("class index {class} is out of range: the model has {classes} classes (0..{classes})")]
    ClassOutOfRange {
        /// The index given.
        class: i64,
        /// Number of classes.
        classes: i64,
    },
    /// An error of the model.
    #[error(transparent)]
    Model(#[from] convkit_layers::Error),
    /// A libtorch error.
    #[error("libtorch: {0}")]
    Torch(#[from] convkit_tensor::tch::TchError),
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A `plotters` drawing error as an [`Error`].
fn plot_error<E: std::error::Error + Send + Sync>(
    e: plotters::drawing::DrawingAreaErrorKind<E>,
) -> Error {
    Error::Plot(e.to_string())
}

/// Writes `text` (an SVG document...) atomically (temporary file, then rename).
pub fn save_text(text: &str, path: &Path) -> Result<()> {
    let err = |problem: String| Error::Write {
        path: path.to_path_buf(),
        problem,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|e| err(e.to_string()))?;
    std::fs::rename(&tmp, path).map_err(|e| err(e.to_string()))
}

/// Writes `img` as a PNG, atomically (temporary file in the same folder, then rename). A path
/// with another extension (`.jpg`...) is refused rather than given PNG bytes.
pub fn save_png(img: &image::RgbImage, path: &Path) -> Result<()> {
    let err = |problem: String| Error::Write {
        path: path.to_path_buf(),
        problem,
    };
    if let Some(ext) = path.extension().filter(|e| !e.eq_ignore_ascii_case("png")) {
        return Err(err(format!(
            "pictures are written as PNG, but the name ends in .{}; use .png (plots also take .svg)",
            ext.to_string_lossy()
        )));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
    }
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .map_err(|e| err(e.to_string()))?;
    let tmp = path.with_extension("png.tmp");
    std::fs::write(&tmp, &bytes).map_err(|e| err(e.to_string()))?;
    std::fs::rename(&tmp, path).map_err(|e| err(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn curves_and_grids_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut h = BTreeMap::new();
        h.insert("loss".to_string(), vec![0.7, 0.5, 0.3, 0.2]);
        h.insert("val_loss".to_string(), vec![0.68, 0.55, 0.5, 0.6]);
        h.insert("accuracy".to_string(), vec![0.5, 0.7, 0.85, 0.9]);
        h.insert("val_accuracy".to_string(), vec![0.52, 0.68, 0.72, 0.71]);
        let p = dir.path().join("curves.png");
        save_training_curves(&h, &p).unwrap();
        let img = image::open(&p).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (1120, 380));
        // both colours were drawn
        let has = |c: [u8; 3]| img.pixels().any(|p| p.0 == c);
        let rgb = |c: plotters::style::RGBColor| [c.0, c.1, c.2];
        assert!(has(rgb(curves::PALETTE[0])) && has(rgb(curves::PALETTE[1])));

        let tiles: Vec<_> = (0..5)
            .map(|i| image::RgbImage::from_pixel(10, 8, image::Rgb([i * 40, 0, 0])))
            .collect();
        // A name that promises another format is refused, not given PNG bytes.
        let jpg = dir.path().join("curves.jpg");
        let e = save_training_curves(&h, &jpg).unwrap_err().to_string();
        assert!(e.contains(".jpg") && e.contains(".png"), "{e}");
        assert!(!jpg.exists());
        let g = image_grid(&tiles, 3, 2, &[]).unwrap();
        assert_eq!(g.dimensions(), (3 * 12 + 2, 2 * 10 + 2));
        assert!(image_grid(&[], 3, 2, &[]).is_err());
    }
}
