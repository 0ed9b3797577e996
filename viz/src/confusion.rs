//! Confusion matrices as pictures: rows are true classes, columns predicted ones, each cell
//! shaded by its share of its row and labelled with its count.

use std::path::Path;

use crate::canvas::Canvas;
use crate::svg::{Draw, Svg};
use crate::{save_png, save_text, Error, Result};

const CELL: i64 = 44;
const LEFT: i64 = 110;
const TOP: i64 = 50;

/// `counts[true][predicted]` from class indices.
pub fn confusion_counts(truth: &[i64], predicted: &[i64], classes: usize) -> Result<Vec<Vec<u64>>> {
    if truth.len() != predicted.len() {
        return Err(Error::Invalid(format!(
            "confusion matrix: {} true labels but {} predictions",
            truth.len(),
            predicted.len()
        )));
    }
    let mut m = vec![vec![0u64; classes]; classes];
    for (&t, &p) in truth.iter().zip(predicted) {
        let ok = |c: i64| c >= 0 && (c as usize) < classes;
        if !ok(t) || !ok(p) {
            return Err(Error::Invalid(format!(
                "confusion matrix: class {} outside 0..{classes}",
                if ok(t) { p } else { t }
            )));
        }
        m[t as usize][p as usize] += 1;
    }
    Ok(m)
}

fn draw(c: &mut impl Draw, counts: &[Vec<u64>], labels: &[String], title: &str) {
    let n = counts.len() as i64;
    let black = [0, 0, 0];
    c.text(LEFT, 12, title, 2, black);
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
            let colour = [mix(247.0, 8.0), mix(251.0, 48.0), mix(255.0, 107.0)];
            let (x, y) = (LEFT + j as i64 * CELL, TOP + i as i64 * CELL);
            c.fill_rect(x, y, CELL - 1, CELL - 1, colour);
            let s = v.to_string();
            let ink = if share > 0.5 { [255, 255, 255] } else { black };
            c.text(
                x + (CELL - Canvas::text_width(&s, 1)) / 2,
                y + CELL / 2 - 4,
                &s,
                1,
                ink,
            );
        }
        let label = labels.get(i).cloned().unwrap_or_else(|| i.to_string());
        c.text(
            LEFT - 8 - Canvas::text_width(&label, 1),
            TOP + i as i64 * CELL + CELL / 2 - 4,
            &label,
            1,
            black,
        );
    }
    for j in 0..n {
        let label = labels
            .get(j as usize)
            .cloned()
            .unwrap_or_else(|| j.to_string());
        c.text(
            LEFT + j * CELL + (CELL - Canvas::text_width(&label, 1)) / 2,
            TOP + n * CELL + 6,
            &label,
            1,
            black,
        );
    }
    c.text(
        LEFT + (n * CELL - 72) / 2,
        TOP + n * CELL + 22,
        "Predicted",
        1,
        black,
    );
    c.text(8, TOP + n * CELL / 2 - 4, "True", 1, black);
}

/// Saves the matrix as PNG, or SVG when `path` ends in `.svg`.
pub fn save_confusion_matrix(
    counts: &[Vec<u64>],
    labels: &[String],
    title: &str,
    path: &Path,
) -> Result<()> {
    let n = counts.len() as i64;
    if n == 0 || counts.iter().any(|r| r.len() as i64 != n) {
        return Err(Error::Invalid(
            "confusion matrix: expected a square, non-empty matrix".into(),
        ));
    }
    let width = (LEFT + n * CELL + 20).max(LEFT + Canvas::text_width(title, 2) + 20) as u32;
    let height = (TOP + n * CELL + 40) as u32;
    if path.extension().is_some_and(|e| e == "svg") {
        let mut s = Svg::new(width, height, [255, 255, 255]);
        draw(&mut s, counts, labels, title);
        save_text(&s.finish(), path)
    } else {
        let mut c = Canvas::new(width, height, [255, 255, 255]);
        draw(&mut c, counts, labels, title);
        save_png(&c.into_image(), path)
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
        assert_eq!(img.height(), (TOP + 3 * CELL + 40) as u32);
        // The darkest cell (row 1: 1 of 1) is drawn in full blue.
        assert!(img.pixels().any(|p| p.0 == [8, 48, 107]));
        let svg = dir.path().join("c.svg");
        save_confusion_matrix(&m, &labels, "Confusion matrix", &svg).unwrap();
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.starts_with("<svg") && text.contains("Predicted"));
    }
}
