//! Training curves as in the book: one panel per metric, training as dots and validation as
//! a line, epochs on the x axis.

use std::path::Path;

use image::RgbImage;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::raster::RasterBackend;
use crate::{font, plot_error, save_png, Error, Result};

/// One curve: a label and one value per epoch.
#[derive(Debug, Clone)]
pub struct Series<'a> {
    /// Legend text (`"Training loss"`).
    pub label: &'a str,
    /// Values, epoch 1 first (NaN values are skipped).
    pub values: &'a [f64],
    /// Dots (the book's training curves) or a line (validation).
    pub dots: bool,
}

/// One panel of a figure.
#[derive(Debug, Clone)]
pub struct Panel<'a> {
    /// Title above the panel.
    pub title: &'a str,
    /// The curves.
    pub series: Vec<Series<'a>>,
}

/// Matplotlib's first colours (`C0` blue, `C1` orange, `C2` green, `C3` red).
pub const PALETTE: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
];

/// Size of one panel in pixels.
const W: u32 = 560;
const H: u32 = 380;

/// A tick label with no trailing zeros (`0.9`, `0.65`, `12`), as matplotlib writes them.
fn label(v: f64) -> String {
    let text = if v.abs() >= 100.0 || v == 0.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    };
    if text.contains('.') {
        let trimmed = text.trim_end_matches('0');
        if trimmed.ends_with('.') {
            format!("{trimmed}0")
        } else {
            trimmed.to_string()
        }
    } else {
        text
    }
}

/// The legend's corner that covers the fewest points (matplotlib's `loc="best"`, over the
/// four corners): `x` and `y` are the points as fractions of the plot area (0 at the left
/// and bottom), the legend `w` by `h` of it.
fn best_corner(points: &[(f64, f64)], w: f64, h: f64) -> SeriesLabelPosition {
    let corners = [
        (SeriesLabelPosition::UpperRight, 1.0 - w, 1.0 - h),
        (SeriesLabelPosition::UpperLeft, 0.0, 1.0 - h),
        (SeriesLabelPosition::LowerRight, 1.0 - w, 0.0),
        (SeriesLabelPosition::LowerLeft, 0.0, 0.0),
    ];
    let covered = |x0: f64, y0: f64| {
        points
            .iter()
            .filter(|(x, y)| (x0..=x0 + w).contains(x) && (y0..=y0 + h).contains(y))
            .count()
    };
    let mut best = (usize::MAX, SeriesLabelPosition::UpperRight);
    for (corner, x0, y0) in corners {
        let n = covered(x0, y0);
        if n < best.0 {
            best = (n, corner);
        }
    }
    best.1
}

/// The value range of a panel, widened by 5% on each side as matplotlib's autoscaling does.
fn value_range(panel: &Panel<'_>) -> (f64, f64) {
    let vals = panel
        .series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .filter(|v| v.is_finite());
    let (mut lo, mut hi) = vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if hi - lo < 1e-9 {
        lo -= 0.5;
        hi += 0.5;
    }
    let pad = (hi - lo) * 0.05;
    (lo - pad, hi + pad)
}

fn draw_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, panel: &Panel<'_>) -> Drawn<DB> {
    let epochs = panel
        .series
        .iter()
        .map(|s| s.values.len())
        .max()
        .unwrap_or(0)
        .max(1);
    let (lo, hi) = value_range(panel);
    let x_pad = (epochs.max(2) - 1) as f64 * 0.05;
    let mut chart = ChartBuilder::on(area)
        .caption(panel.title, (font::FAMILY, 17))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(52)
        .build_cartesian_2d(1.0 - x_pad..epochs as f64 + x_pad, lo..hi)?;
    let text = (font::FAMILY, 12).into_font();
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(epochs.min(8))
        .y_labels(6)
        .x_label_formatter(&|x| {
            if x.fract() == 0.0 {
                format!("{x:.0}")
            } else {
                format!("{x:.1}")
            }
        })
        .y_label_formatter(&|y| label(*y))
        .x_desc("Epochs")
        .label_style(text.clone())
        .axis_desc_style((font::FAMILY, 13))
        .draw()?;
    // Matplotlib frames the axes on all four sides.
    let (xs, ys) = (chart.x_range(), chart.y_range());
    chart.draw_series(std::iter::once(Rectangle::new(
        [(xs.start, ys.start), (xs.end, ys.end)],
        BLACK.stroke_width(1),
    )))?;
    for (k, s) in panel.series.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let points: Vec<(f64, f64)> = s
            .values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, &v)| ((i + 1) as f64, v))
            .collect();
        if s.dots {
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))?
                .label(s.label)
                .legend(move |(x, y)| Circle::new((x + 10, y), 3, color.filled()));
        } else {
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    color.stroke_width(2),
                ))?
                .label(s.label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
            if let [only] = points[..] {
                chart.draw_series(std::iter::once(Circle::new(only, 2, color.filled())))?;
            }
        }
    }
    let (plot_w, plot_h) = chart.plotting_area().dim_in_pixel();
    let widest = panel
        .series
        .iter()
        .map(|s| font::text_width(s.label, 12.0))
        .max()
        .unwrap_or(0);
    let legend_w = f64::from(widest + 50) / f64::from(plot_w.max(1));
    let legend_h = (18.0 * panel.series.len() as f64 + 16.0) / f64::from(plot_h.max(1));
    let (x_span, y_span) = (xs.end - xs.start, ys.end - ys.start);
    let fractions: Vec<(f64, f64)> = panel
        .series
        .iter()
        .flat_map(|s| s.values.iter().enumerate())
        .filter(|(_, v)| v.is_finite())
        .map(|(i, v)| {
            (
                ((i + 1) as f64 - xs.start) / x_span,
                (v - ys.start) / y_span,
            )
        })
        .collect();
    chart
        .configure_series_labels()
        .position(best_corner(&fractions, legend_w, legend_h))
        .background_style(WHITE.mix(0.8))
        .border_style(RGBColor(204, 204, 204))
        .label_font(text)
        .draw()?;
    Ok(())
}

type Drawn<DB> = std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Draws the panels side by side on `root`.
fn draw_panels<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    panels: &[Panel<'_>],
) -> Result<()> {
    font::register_with_plotters();
    root.fill(&WHITE).map_err(plot_error)?;
    let areas = root.split_evenly((1, panels.len().max(1)));
    for (area, panel) in areas.iter().zip(panels) {
        draw_panel(area, panel).map_err(plot_error)?;
    }
    root.present().map_err(plot_error)
}

/// Width of a figure of `n` panels.
fn figure_width(n: usize) -> u32 {
    W * n.max(1) as u32
}

/// Draws the panels side by side.
pub fn plot_panels(panels: &[Panel<'_>]) -> Result<RgbImage> {
    let mut img = RgbImage::new(figure_width(panels.len()), H);
    draw_panels(RasterBackend::new(&mut img).into_drawing_area(), panels)?;
    Ok(img)
}

/// Draws the panels side by side as an SVG document.
pub fn plot_panels_svg(panels: &[Panel<'_>]) -> Result<String> {
    let mut svg = String::new();
    draw_panels(
        SVGBackend::with_string(&mut svg, (figure_width(panels.len()), H)).into_drawing_area(),
        panels,
    )?;
    Ok(svg)
}

/// The book's exponential smoothing of a curve: each point becomes
/// `previous_smoothed * factor + point * (1 - factor)` (the first is kept).
pub fn smooth_curve(points: &[f64], factor: f64) -> Vec<f64> {
    let mut out: Vec<f64> = Vec::with_capacity(points.len());
    for &p in points {
        let v = match out.last() {
            Some(&prev) => prev * factor + p * (1.0 - factor),
            None => p,
        };
        out.push(v);
    }
    out
}

/// Options of [`save_training_curves_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CurveOptions {
    /// Exponential smoothing factor (the book's 0.8), or none.
    pub smoothing: Option<f64>,
}

/// The book's two figures in one PNG: accuracy (training dots, validation line) and loss,
/// from a Keras-style history (`name -> per-epoch values`).
pub fn save_training_curves(
    history: &std::collections::BTreeMap<String, Vec<f64>>,
    path: &Path,
) -> Result<()> {
    save_training_curves_with(history, path, &CurveOptions::default())
}

/// [`save_training_curves`] with options; a path ending in `.svg` gets an SVG picture.
pub fn save_training_curves_with(
    history: &std::collections::BTreeMap<String, Vec<f64>>,
    path: &Path,
    options: &CurveOptions,
) -> Result<()> {
    if let Some(f) = options.smoothing {
        if !(0.0..1.0).contains(&f) {
            return Err(Error::Invalid(format!(
                "smoothing factor must lie in [0, 1), got {f}"
            )));
        }
    }
    let history: std::collections::BTreeMap<String, Vec<f64>> = history
        .iter()
        .map(|(k, v)| {
            let v = match options.smoothing {
                Some(f) => smooth_curve(v, f),
                None => v.clone(),
            };
            (k.clone(), v)
        })
        .collect();
    let smoothed = if options.smoothing.is_some() {
        " (smoothed)"
    } else {
        ""
    };
    let mut panels = vec![];
    let metrics: Vec<&String> = history
        .keys()
        .filter(|k| !k.starts_with("val_") && *k != "lr" && *k != "learning_rate")
        .collect();
    let titles: Vec<(String, String, String)> = metrics
        .iter()
        .map(|m| {
            let pretty = if m.as_str() == "loss" {
                "loss".to_string()
            } else {
                m.replace('_', " ")
            };
            (
                format!("Training and validation {pretty}{smoothed}"),
                format!("Training {pretty}"),
                format!("Validation {pretty}"),
            )
        })
        .collect();
    // accuracy-like panels first, loss last, as in the book
    let mut order: Vec<usize> = (0..metrics.len()).collect();
    order.sort_by_key(|&i| metrics[i].as_str() == "loss");
    for &i in &order {
        let m = metrics[i];
        let mut series = vec![Series {
            label: &titles[i].1,
            values: &history[m],
            dots: true,
        }];
        if let Some(v) = history.get(&format!("val_{m}")) {
            series.push(Series {
                label: &titles[i].2,
                values: v,
                dots: false,
            });
        }
        panels.push(Panel {
            title: &titles[i].0,
            series,
        });
    }
    if path.extension().is_some_and(|e| e == "svg") {
        crate::save_text(&plot_panels_svg(&panels)?, path)
    } else {
        save_png(&plot_panels(&panels)?, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_and_the_legend_corner() {
        assert_eq!(label(0.9), "0.9");
        assert_eq!(label(0.65), "0.65");
        assert_eq!(label(12.5), "12.5");
        assert_eq!(label(0.0), "0");
        assert_eq!(label(250.0), "250");
        // Points along the top right leave the lower left free... or another free corner.
        let rising: Vec<(f64, f64)> = (0..20)
            .map(|i| (i as f64 / 19.0, i as f64 / 19.0))
            .collect();
        let corner = best_corner(&rising, 0.3, 0.2);
        assert!(matches!(
            corner,
            SeriesLabelPosition::UpperLeft | SeriesLabelPosition::LowerRight
        ));
        let top: Vec<(f64, f64)> = (0..20).map(|i| (i as f64 / 19.0, 0.95)).collect();
        assert!(matches!(
            best_corner(&top, 0.3, 0.2),
            SeriesLabelPosition::LowerRight
        ));
    }

    #[test]
    fn smoothing_follows_the_book_and_svg_is_written() {
        // The book: smoothed[i] = smoothed[i-1] * 0.8 + point * 0.2.
        let s = smooth_curve(&[1.0, 0.0, 0.0], 0.8);
        assert_eq!(s.len(), 3);
        assert!((s[1] - 0.8).abs() < 1e-12 && (s[2] - 0.64).abs() < 1e-12);
        let mut h = std::collections::BTreeMap::new();
        h.insert("loss".to_string(), vec![0.9, 0.5, 0.4]);
        h.insert("val_loss".to_string(), vec![0.8, 0.6, 0.7]);
        let dir = tempfile::tempdir().unwrap();
        let svg = dir.path().join("curves.svg");
        let opts = CurveOptions {
            smoothing: Some(0.8),
        };
        save_training_curves_with(&h, &svg, &opts).unwrap();
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.starts_with("<svg") && text.contains("(smoothed)"));
        assert_eq!(
            text.matches("<circle").count(),
            3 + 1,
            "3 dots and a legend dot"
        );
        let bad = CurveOptions {
            smoothing: Some(1.5),
        };
        assert!(save_training_curves_with(&h, &svg, &bad).is_err());
    }
}
