//! One figure that explains a prediction: the image, its heat map and the two superimposed,
//! side by side with a title over each and a caption under them (what the model saw and
//! where), as a matplotlib `subplots(1, 3)` figure would show them.

use image::imageops::FilterType;
use image::RgbImage;

use crate::{font, Error, Result};

const TITLE_SIZE: f32 = 14.0;
const CAPTION_SIZE: f32 = 13.0;
const MARGIN: u32 = 12;
/// Panels smaller than this are enlarged (pixels kept square and sharp).
const MIN_SIDE: u32 = 224;
/// Panels larger than this are reduced.
const MAX_SIDE: u32 = 512;

/// `image`, `heatmap` and `superimposed` (the same size) side by side under the titles
/// "Image", "Heat map" and "Superimposed", with `caption` (one or more lines) below.
pub fn explanation_figure(
    image: &RgbImage,
    heatmap: &RgbImage,
    superimposed: &RgbImage,
    caption: &[String],
) -> Result<RgbImage> {
    let (w, h) = image.dimensions();
    if w == 0 || h == 0 {
        return Err(Error::Invalid("explanation_figure: an empty image".into()));
    }
    for (name, other) in [("heat map", heatmap), ("superimposed image", superimposed)] {
        if other.dimensions() != (w, h) {
            return Err(Error::Invalid(format!(
                "explanation_figure: the {name} is {}x{}, the image {w}x{h}",
                other.width(),
                other.height()
            )));
        }
    }
    let longest = w.max(h);
    let scale = if longest < MIN_SIDE {
        f64::from(MIN_SIDE / longest.max(1)).max(1.0)
    } else if longest > MAX_SIDE {
        f64::from(MAX_SIDE) / f64::from(longest)
    } else {
        1.0
    };
    let (pw, ph) = (
        ((f64::from(w) * scale).round() as u32).max(1),
        ((f64::from(h) * scale).round() as u32).max(1),
    );
    let filter = if scale > 1.0 {
        FilterType::Nearest
    } else {
        FilterType::Triangle
    };
    let title_h = font::line_height(TITLE_SIZE) + 6;
    let line_h = font::line_height(CAPTION_SIZE) + 2;
    let width = 3 * pw + 4 * MARGIN;
    let height = MARGIN + title_h + ph + MARGIN + line_h * caption.len() as u32 + MARGIN;
    let mut figure = RgbImage::from_pixel(width, height, image::Rgb([255, 255, 255]));
    let panels = [
        (image, "Image"),
        (heatmap, "Heat map"),
        (superimposed, "Superimposed"),
    ];
    for (k, (panel, title)) in panels.into_iter().enumerate() {
        let x = MARGIN + k as u32 * (pw + MARGIN);
        let shown = if (pw, ph) == (w, h) {
            panel.clone()
        } else {
            image::imageops::resize(panel, pw, ph, filter)
        };
        image::imageops::replace(
            &mut figure,
            &shown,
            i64::from(x),
            i64::from(MARGIN + title_h),
        );
        let title = font::fit_text(title, pw, TITLE_SIZE);
        let tx = x + (pw - font::text_width(&title, TITLE_SIZE).min(pw)) / 2;
        font::draw_text(
            &mut figure,
            tx as i32,
            MARGIN as i32,
            TITLE_SIZE,
            &title,
            [0, 0, 0],
        );
    }
    let mut y = MARGIN + title_h + ph + MARGIN;
    for line in caption {
        let fitted = font::fit_text(line, width - 2 * MARGIN, CAPTION_SIZE);
        font::draw_text(
            &mut figure,
            MARGIN as i32,
            y as i32,
            CAPTION_SIZE,
            &fitted,
            [0, 0, 0],
        );
        y += line_h;
    }
    Ok(figure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_panels_with_titles_and_a_caption() {
        let img = RgbImage::from_pixel(28, 28, image::Rgb([200, 0, 0]));
        let heat = RgbImage::from_pixel(28, 28, image::Rgb([0, 0, 200]));
        let caption = vec!["seven (0.98), explained at layer conv2d_2".to_string()];
        let fig = explanation_figure(&img, &heat, &img, &caption).unwrap();
        // 28 px panels are enlarged 8 times to 224.
        assert_eq!(fig.width(), 3 * 224 + 4 * MARGIN);
        let title_h = font::line_height(TITLE_SIZE) + 6;
        let (top, mid) = (MARGIN + title_h, MARGIN + title_h + 112);
        assert_eq!(fig.get_pixel(MARGIN + 5, top + 5).0, [200, 0, 0]);
        assert_eq!(fig.get_pixel(2 * MARGIN + 224 + 100, mid).0, [0, 0, 200]);
        // Title and caption ink lie above and below the panels.
        let ink = |ys: std::ops::Range<u32>| {
            ys.flat_map(|y| (0..fig.width()).map(move |x| (x, y)))
                .any(|(x, y)| fig.get_pixel(x, y).0 != [255, 255, 255])
        };
        assert!(ink(0..top) && ink(top + 224 + MARGIN..fig.height()));
        let wrong = RgbImage::new(10, 10);
        assert!(explanation_figure(&img, &wrong, &img, &caption).is_err());
    }
}
