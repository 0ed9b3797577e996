//! Confusion matrices as pictures: rows are true classes, columns predicted ones, each cell
//! shaded by its share of its row and labelled with its count.

use std::path::Path;

use image::RgbImage;
use plotters::coord::Shift;
use plotters::drawing::DrawingAreaErrorKind;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontTransform;

use crate::raster::RasterBackend;
use crate::{font, plot_error, save_png, save_text, Error, Result};

const CELL: i32 = 44;
const TOP: i32 = 50;

/// `counts[true][predicted]` from class indices (scikit-learn's `confusion_matrix`).
pub fn confusion_counts(truth: &[i64], predicted: &[i64], classes: usize) -> Result<Vec<Vec<u64>>> {
    convkit_layers::training::confusion_matrix(truth, predicted, classes)
        .map_err(|e| Error::Invalid(e.to_string()))
}

/// Where the parts of the picture go, from the labels' sizes.
struct Layout {
    left: i32,
    top: i32,
    /// Centre of the title.
    title_x: i32,
    /// Whether column labels stand upright (when one is wider than a cell).
    upright_columns: bool,
    width: u32,
    height: u32,
}

const TITLE_SIZE: f32 = 17.0;
const LABEL_SIZE: f32 = 12.0;

fn layout(labels: &[String], n: usize, title: &str) -> Layout {
    let widest = labels
        .iter()
        .map(|l| font::text_width(l, LABEL_SIZE) as i32)
        .max()
        .unwrap_or(0)
        .max(font::text_width(&(n - 1).to_string(), LABEL_SIZE) as i32);
    let left = 28 + widest + 10;
    let upright_columns = widest > CELL - 6;
    let column_labels = if upright_columns { widest } else { 14 };
    let bottom = 8 + column_labels + 26;
    let grid = CELL * n as i32;
    let title_w = font::text_width(title, TITLE_SIZE) as i32;
    let title_x = (left + grid / 2).max(title_w / 2 + 10);
    let width = (left + grid + 20).max(title_x + title_w / 2 + 10);
    Layout {
        left,
        title_x,
        top: TOP,
        upright_columns,
        width: width as u32,
        height: (TOP + grid + bottom) as u32,
    }
}

fn label_of(labels: &[String], i: usize) -> String {
    labels.get(i).cloned().unwrap_or_else(|| i.to_string())
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    counts: &[Vec<u64>],
    labels: &[String],
    title: &str,
    at: &Layout,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let n = counts.len() as i32;
    let style = |size: f32, h: HPos, v: VPos| {
        (font::FAMILY, f64::from(size))
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(h, v))
    };
    root.fill(&WHITE)?;
    let grid_center = at.left + n * CELL / 2;
    root.draw(&Text::new(
        title.to_string(),
        (at.title_x, 14),
        style(TITLE_SIZE, HPos::Center, VPos::Top),
    ))?;
    for (i, row) in counts.iter().enumerate() {
        let total: u64 = row.iter().sum();
        for (j, &v) in row.iter().enumerate() {
            let share = if total > 0 {
                v as f64 / total as f64
            } else {
                0.0
            };
            // white -> matplotlib's dark blue ("Blues").
            let mix = |a: f64, b: f64| (a + (b - a) * share).round() as u8;
            let colour = RGBColor(mix(247.0, 8.0), mix(251.0, 48.0), mix(255.0, 107.0));
            let (x, y) = (at.left + j as i32 * CELL, at.top + i as i32 * CELL);
            root.draw(&Rectangle::new(
                [(x, y), (x + CELL - 2, y + CELL - 2)],
                colour.filled(),
            ))?;
            let ink = if share > 0.5 { WHITE } else { BLACK };
            root.draw(&Text::new(
                v.to_string(),
                (x + CELL / 2, y + CELL / 2),
                style(LABEL_SIZE, HPos::Center, VPos::Center).color(&ink),
            ))?;
        }
        root.draw(&Text::new(
            label_of(labels, i),
            (at.left - 8, at.top + i as i32 * CELL + CELL / 2),
            style(LABEL_SIZE, HPos::Right, VPos::Center),
        ))?;
    }
    let below = at.top + n * CELL + 6;
    for j in 0..n {
        let x = at.left + j * CELL + CELL / 2;
        let text = label_of(labels, j as usize);
        let placed = if at.upright_columns {
            style(LABEL_SIZE, HPos::Right, VPos::Center).transform(FontTransform::Rotate270)
        } else {
            style(LABEL_SIZE, HPos::Center, VPos::Top)
        };
        root.draw(&Text::new(text, (x, below), placed))?;
    }
    root.draw(&Text::new(
        "Predicted label",
        (grid_center, at.height as i32 - 22),
        style(13.0, HPos::Center, VPos::Top),
    ))?;
    root.draw(&Text::new(
        "True label",
        (8, at.top + n * CELL / 2),
        style(13.0, HPos::Center, VPos::Top).transform(FontTransform::Rotate270),
    ))?;
    root.present()
}

fn check_square(counts: &[Vec<u64>]) -> Result<usize> {
    let n = counts.len();
    if n == 0 || counts.iter().any(|r| r.len() != n) {
        return Err(Error::Invalid(
            "confusion matrix: expected a square, non-empty matrix".into(),
        ));
    }
    Ok(n)
}

/// The matrix as a picture (what [`save_confusion_matrix`] writes as PNG).
pub fn confusion_matrix_image(
    counts: &[Vec<u64>],
    labels: &[String],
    title: &str,
) -> Result<RgbImage> {
    let n = check_square(counts)?;
    font::register_with_plotters();
    let at = layout(labels, n, title);
    let mut img = RgbImage::new(at.width, at.height);
    let root = RasterBackend::new(&mut img).into_drawing_area();
    draw(&root, counts, labels, title, &at).map_err(plot_error)?;
    drop(root);
    Ok(img)
}

/// Saves the matrix as PNG, or SVG when `path` ends in `.svg`.
pub fn save_confusion_matrix(
    counts: &[Vec<u64>],
    labels: &[String],
    title: &str,
    path: &Path,
) -> Result<()> {
    let n = check_square(counts)?;
    font::register_with_plotters();
    let at = layout(labels, n, title);
    if path.extension().is_some_and(|e| e == "svg") {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (at.width, at.height)).into_drawing_area();
            draw(&root, counts, labels, title, &at).map_err(plot_error)?;
        }
        save_text(&svg, path)
    } else {
        save_png(&confusion_matrix_image(counts, labels, title)?, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_pictures() {
        let m = confusion_counts(&[0, 0, 1, 2, 2, 2], &[0, 1, 1, 2, 2, 0], 3).unwrap();
        assert_eq!(m, vec![vec![1, 1, 0], vec![0, 1, 0], vec![1, 0, 2]]);
        assert!(confusion_counts(&[0, 3], &[0, 1], 3).is_err());
        let dir = tempfile::tempdir().unwrap();
        let labels: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let png = dir.path().join("c.png");
        save_confusion_matrix(&m, &labels, "Confusion matrix", &png).unwrap();
        let img = image::open(&png).unwrap().to_rgb8();
        assert_eq!(img.height(), layout(&labels, 3, "Confusion matrix").height);
        // The darkest cell (row 1: 1 of 1) is drawn in full blue.
        assert!(img.pixels().any(|p| p.0 == [8, 48, 107]));
        let svg = dir.path().join("c.svg");
        save_confusion_matrix(&m, &labels, "Confusion matrix", &svg).unwrap();
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.starts_with("<svg") && text.contains("Predicted"));
    }
}
