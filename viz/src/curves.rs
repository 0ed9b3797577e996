//! Training curves as in the book: one panel per metric, training as dots and validation as
//! a line, epochs on the x axis.

use std::path::Path;

use crate::canvas::{Canvas, Color, PALETTE};
use crate::svg::{Draw, Svg};
use crate::{save_png, Error, Result};

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

const W: i64 = 560;
const H: i64 = 380;
const LEFT: i64 = 70;
const RIGHT: i64 = 20;
const TOP: i64 = 40;
const BOTTOM: i64 = 50;

fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let span = (hi - lo).max(1e-12);
    let raw = span / n as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| span / s <= n as f64)
        .unwrap_or(10.0 * mag);
    let mut t = (lo / step).ceil() * step;
    let mut out = vec![];
    while t <= hi + 1e-9 * span {
        out.push(t);
        t += step;
    }
    out
}

fn label(v: f64) -> String {
    if v.abs() >= 100.0 || v == 0.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn draw_panel(c: &mut impl Draw, ox: i64, panel: &Panel<'_>) {
    let black: Color = [0, 0, 0];
    let grey: Color = [225, 225, 225];
    let n = panel
        .series
        .iter()
        .map(|s| s.values.len())
        .max()
        .unwrap_or(0)
        .max(1);
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
    let (lo, hi) = (lo - pad, hi + pad);
    let (x0, x1, y0, y1) = (ox + LEFT, ox + W - RIGHT, TOP, H - BOTTOM);
    let px = |e: f64| x0 as f64 + (e - 1.0) / (n.max(2) - 1) as f64 * (x1 - x0) as f64;
    let py = |v: f64| y1 as f64 - (v - lo) / (hi - lo) * (y1 - y0) as f64;
    for t in nice_ticks(lo, hi, 6) {
        let y = py(t).round() as i64;
        c.line((x0 as f64, y as f64), (x1 as f64, y as f64), 1, grey);
        let s = label(t);
        c.text(x0 - 6 - Canvas::text_width(&s, 1), y - 4, &s, 1, black);
    }
    for t in nice_ticks(1.0, n as f64, 8) {
        let x = px(t.round()).round() as i64;
        c.line((x as f64, y1 as f64), (x as f64, (y1 + 4) as f64), 1, black);
        let s = format!("{}", t.round() as i64);
        c.text(x - Canvas::text_width(&s, 1) / 2, y1 + 8, &s, 1, black);
    }
    c.line((x0 as f64, y0 as f64), (x0 as f64, y1 as f64), 1, black);
    c.line((x0 as f64, y1 as f64), (x1 as f64, y1 as f64), 1, black);
    let t = panel.title;
    c.text(ox + (W - Canvas::text_width(t, 2)) / 2, 10, t, 2, black);
    c.text(
        ox + (W - Canvas::text_width("Epochs", 1)) / 2,
        H - 20,
        "Epochs",
        1,
        black,
    );
    for (k, s) in panel.series.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let pts: Vec<(f64, f64)> = s
            .values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, &v)| (px((i + 1) as f64), py(v)))
            .collect();
        if s.dots {
            for &p in &pts {
                c.dot(p, 3, color);
            }
        } else {
            for w in pts.windows(2) {
                c.line(w[0], w[1], 2, color);
            }
            if pts.len() == 1 {
                c.dot(pts[0], 2, color);
            }
        }
        // legend, top right
        let ly = y0 + 8 + 14 * k as i64;
        let lx = x1 - 12 - Canvas::text_width(s.label, 1) - 24;
        if s.dots {
            c.dot(((lx + 8) as f64, (ly + 4) as f64), 3, color);
        } else {
            c.line(
                (lx as f64, (ly + 4) as f64),
                ((lx + 16) as f64, (ly + 4) as f64),
                2,
                color,
            );
        }
        c.text(lx + 22, ly, s.label, 1, black);
    }
}

/// Draws the panels side by side on `c`.
fn draw_panels(c: &mut impl Draw, panels: &[Panel<'_>]) {
    for (i, p) in panels.iter().enumerate() {
        draw_panel(c, W * i as i64, p);
    }
}

/// Width of a figure of `n` panels.
fn figure_width(n: usize) -> u32 {
    (W * n.max(1) as i64) as u32
}

/// Draws the panels side by side.
pub fn plot_panels(panels: &[Panel<'_>]) -> Canvas {
    let mut c = Canvas::new(figure_width(panels.len()), H as u32, [255, 255, 255]);
    draw_panels(&mut c, panels);
    c
}

/// Draws the panels side by side as SVG.
pub fn plot_panels_svg(panels: &[Panel<'_>]) -> Svg {
    let mut c = Svg::new(figure_width(panels.len()), H as u32, [255, 255, 255]);
    draw_panels(&mut c, panels);
    c
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
        crate::save_text(&plot_panels_svg(&panels).finish(), path)
    } else {
        save_png(&plot_panels(&panels).into_image(), path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
