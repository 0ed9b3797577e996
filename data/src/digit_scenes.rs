//! Digit scenes: MNIST digits, tinted and scaled, composited at random positions over crops of
//! real photos and textures (scikit-image's sample images), with a trimap of each digit in
//! the Oxford-IIIT Pet convention (1 object, 2 background, 3 border). They stand in, offline,
//! for the photo datasets of the book: a two-class set in the Kaggle dogs-vs-cats layout
//! ([`export_scenes_flat`]) and a segmentation set in the Oxford layout
//! ([`export_oxford_layout`]).
//!
//! Every scene is a pure function of its seed, so exports are reproducible and idempotent.

use std::path::{Path, PathBuf};

use image::{imageops, GrayImage, Luma, Rgb, RgbImage};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{Error, Mnist, Result};

/// Trimap value of the digit.
pub const TRIMAP_OBJECT: u8 = 1;
/// Trimap value of the background.
pub const TRIMAP_BACKGROUND: u8 = 2;
/// Trimap value of the digit's outline.
pub const TRIMAP_BORDER: u8 = 3;

/// Contrast kept of the background photos (1 = as photographed).
pub const BACKGROUND_CONTRAST: f32 = 0.25;

/// Photos and textures to crop backgrounds from.
#[derive(Debug, Clone)]
pub struct Backgrounds {
    images: Vec<RgbImage>,
}

impl Backgrounds {
    /// Every PNG/JPEG of `dir` at least 96 pixels on each side (sorted by name).
    pub fn load(dir: &Path) -> Result<Backgrounds> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .map(|e| {
                        matches!(
                            e.to_string_lossy().to_lowercase().as_str(),
                            "png" | "jpg" | "jpeg"
                        )
                    })
                    .unwrap_or(false)
            })
            .collect();
        paths.sort();
        let mut images = Vec::new();
        for p in paths {
            let img = crate::image_file::open_image(&p)?;
            let rgb = img.to_rgb8();
            if rgb.width() >= 96 && rgb.height() >= 96 {
                images.push(rgb);
            }
        }
        if images.is_empty() {
            return Err(Error::Missing {
                dataset: "background images".into(),
                dir: dir.to_path_buf(),
                missing: "PNG or JPEG files of at least 96x96".into(),
                hint: "scripts/run copies scikit-image's sample photos there".into(),
            });
        }
        Ok(Backgrounds { images })
    }

    /// Number of source images.
    pub fn len(&self) -> usize {
        self.images.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    /// A random `canvas`-sized crop (random scale, position and mirror) of a random image.
    fn crop(&self, canvas: u32, rng: &mut ChaCha8Rng) -> RgbImage {
        let src = &self.images[rng.gen_range(0..self.images.len())];
        let (w, h) = src.dimensions();
        let max_side = w.min(h);
        let side = rng.gen_range((max_side / 4).max(canvas.min(max_side))..=max_side);
        let x = rng.gen_range(0..=w - side);
        let y = rng.gen_range(0..=h - side);
        let cropped = imageops::crop_imm(src, x, y, side, side).to_image();
        let mut out = imageops::resize(&cropped, canvas, canvas, imageops::FilterType::Triangle);
        if rng.gen_bool(0.5) {
            imageops::flip_horizontal_in_place(&mut out);
        }
        // Soften the photo around its mean colour so that it is scenery, not a second object.
        let n = (canvas * canvas) as f32;
        let mut mean = [0f32; 3];
        for p in out.pixels() {
            for (m, v) in mean.iter_mut().zip(p.0) {
                *m += v as f32 / n;
            }
        }
        for p in out.pixels_mut() {
            for (v, m) in p.0.iter_mut().zip(mean) {
                *v = (m + (*v as f32 - m) * BACKGROUND_CONTRAST).round() as u8;
            }
        }
        out
    }
}

/// One composed scene.
#[derive(Debug, Clone)]
pub struct Scene {
    /// The RGB image.
    pub image: RgbImage,
    /// Trimap: [`TRIMAP_OBJECT`], [`TRIMAP_BACKGROUND`] or [`TRIMAP_BORDER`] per pixel.
    pub trimap: GrayImage,
}

/// How digits are drawn into a scene.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SceneStyle {
    /// Smallest digit side, as a fraction of the canvas.
    pub min_side: f32,
    /// Largest digit side, as a fraction of the canvas.
    pub max_side: f32,
    /// Stroke thickening: radius of the dilation applied to the scaled digit, as a fraction
    /// of its side (0: MNIST's own strokes).
    pub bold: f32,
    /// Half-width of the trimap's border band, as a fraction of the canvas (at least 1 pixel).
    pub border: f32,
}

impl SceneStyle {
    /// The two-class stand-in for dogs vs cats: MNIST's thin strokes, digits of 35-80% of
    /// the canvas.
    pub const CLASSIFICATION: SceneStyle = SceneStyle {
        min_side: 0.35,
        max_side: 0.8,
        bold: 0.0,
        border: 1.0 / 128.0,
    };
    /// The segmentation stand-in for the Oxford pets: bold digits of 45-90% of the canvas,
    /// so that objects are regions (as pets are) rather than 2-pixel strokes, with a thin
    /// border band.
    pub const SEGMENTATION: SceneStyle = SceneStyle {
        min_side: 0.45,
        max_side: 0.9,
        bold: 0.06,
        border: 1.0 / 96.0,
    };
}

/// Composes a 28x28 MNIST digit over a background crop in the [`SceneStyle::CLASSIFICATION`]
/// style. See [`compose_styled`].
pub fn compose(digit: &GrayImage, backgrounds: &Backgrounds, canvas: u32, seed: u64) -> Scene {
    compose_styled(
        digit,
        backgrounds,
        canvas,
        seed,
        &SceneStyle::CLASSIFICATION,
    )
}

/// Grayscale dilation (maximum over a square of side `2 * radius + 1`, radius at most 255),
/// through `imageproc` (8 to 20 times faster than the separable loop it replaced, same pixels).
fn dilate(img: &GrayImage, radius: u32) -> GrayImage {
    if radius == 0 {
        return img.clone();
    }
    let mask = imageproc::morphology::Mask::square(radius.min(255) as u8);
    imageproc::morphology::grayscale_dilate(img, &mask)
}

/// Composes a 28x28 MNIST digit over a background crop: the digit is scaled to a side drawn
/// from the style's range, thickened as the style says, placed at random, and painted in a
/// random colour that contrasts with the background under it, its intensity acting as
/// opacity. Pixels of opacity over one half are the object of the trimap.
pub fn compose_styled(
    digit: &GrayImage,
    backgrounds: &Backgrounds,
    canvas: u32,
    seed: u64,
    style: &SceneStyle,
) -> Scene {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut image = backgrounds.crop(canvas, &mut rng);
    let side = ((canvas as f32) * rng.gen_range(style.min_side..style.max_side))
        .round()
        .clamp(8.0, canvas as f32) as u32;
    let scaled = imageops::resize(digit, side, side, imageops::FilterType::Triangle);
    let scaled = dilate(&scaled, (side as f32 * style.bold).round() as u32);
    let x0 = rng.gen_range(0..=canvas - side);
    let y0 = rng.gen_range(0..=canvas - side);
    // Mean luminance under the digit decides dark or bright ink.
    let mut lum = 0.0f64;
    for y in 0..side {
        for x in 0..side {
            let p = image.get_pixel(x0 + x, y0 + y).0;
            lum += 0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64;
        }
    }
    lum /= (side * side) as f64;
    let (lo, hi) = if lum > 128.0 {
        (0u8, 90u8)
    } else {
        (170u8, 255u8)
    };
    let ink = Rgb([
        rng.gen_range(lo..=hi),
        rng.gen_range(lo..=hi),
        rng.gen_range(lo..=hi),
    ]);
    let mut object = vec![false; (canvas * canvas) as usize];
    for (x, y, p) in scaled.enumerate_pixels() {
        let a = p.0[0] as f32 / 255.0;
        if a <= 0.0 {
            continue;
        }
        let (cx, cy) = (x0 + x, y0 + y);
        let o = image.get_pixel_mut(cx, cy);
        for c in 0..3 {
            o.0[c] = ((1.0 - a) * o.0[c] as f32 + a * ink.0[c] as f32).round() as u8;
        }
        if a > 0.5 {
            object[(cy * canvas + cx) as usize] = true;
        }
    }
    let border = ((canvas as f32) * style.border).round().max(1.0) as u32;
    let trimap = trimap_of(&object, canvas, border);
    Scene { image, trimap }
}

/// Trimap from an object mask: pixels within `radius` of the object's edge are border.
fn trimap_of(object: &[bool], canvas: u32, radius: u32) -> GrayImage {
    let n = canvas as i64;
    let r = radius as i64;
    GrayImage::from_fn(canvas, canvas, |x, y| {
        let inside = object[(y * canvas + x) as usize];
        let mut near_other = false;
        'scan: for dy in -r..=r {
            for dx in -r..=r {
                let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                if nx < 0 || ny < 0 || nx >= n || ny >= n {
                    continue;
                }
                if object[(ny * n + nx) as usize] != inside {
                    near_other = true;
                    break 'scan;
                }
            }
        }
        Luma([if near_other {
            TRIMAP_BORDER
        } else if inside {
            TRIMAP_OBJECT
        } else {
            TRIMAP_BACKGROUND
        }])
    })
}

fn save_atomic(img: &image::DynamicImage, path: &Path, format: image::ImageFormat) -> Result<()> {
    let tmp = path.with_extension("tmp");
    img.save_with_format(&tmp, format)
        .map_err(|e| Error::Format {
            path: tmp.clone(),
            problem: e.to_string(),
        })?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// Writes `per_class` scenes of each `(digit, name)` as `out/<name>.<i>.png` (the Kaggle
/// dogs-vs-cats layout) drawn in `style`; files already there are kept. Returns the number
/// written.
pub fn export_scenes_flat(
    mnist: &Mnist,
    classes: &[(i64, &str)],
    per_class: usize,
    canvas: u32,
    backgrounds: &Backgrounds,
    style: &SceneStyle,
    out: &Path,
) -> Result<usize> {
    export_scenes(
        mnist,
        classes,
        per_class,
        canvas,
        backgrounds,
        style,
        &|name, k| out.join(format!("{name}.{k}.png")),
    )
}

/// Writes `per_class` scenes of each `(digit, name)` as `out/<name>/<name>.<i>.png` (one
/// folder per class, as `image_dataset_from_directory` reads); files already there are
/// kept. Returns the number written.
pub fn export_scenes_class_folders(
    mnist: &Mnist,
    classes: &[(i64, &str)],
    per_class: usize,
    canvas: u32,
    backgrounds: &Backgrounds,
    out: &Path,
) -> Result<usize> {
    export_scenes(
        mnist,
        classes,
        per_class,
        canvas,
        backgrounds,
        &SceneStyle::CLASSIFICATION,
        &|name, k| out.join(name).join(format!("{name}.{k}.png")),
    )
}

/// Writes the scenes of each class to `path(name, k)`; the same scene for the same
/// `(name, k)` whatever the layout.
fn export_scenes(
    mnist: &Mnist,
    classes: &[(i64, &str)],
    per_class: usize,
    canvas: u32,
    backgrounds: &Backgrounds,
    style: &SceneStyle,
    path: &dyn Fn(&str, usize) -> std::path::PathBuf,
) -> Result<usize> {
    let groups: Vec<(&[i64], &str)> = classes
        .iter()
        .map(|(d, name)| (std::slice::from_ref(d), *name))
        .collect();
    export_grouped(mnist, &groups, per_class, canvas, backgrounds, style, path)
}

/// Writes `per_class` scenes of each class, a class being several digits (`(digits,
/// name)`), as `out/<name>.<i>.png` in the Kaggle layout: scene `i` of a class shows its
/// digit `i % digits.len()`, so each class mixes its digits evenly — as a class of cats
/// mixes breeds. Files already there are kept. Returns the number written.
pub fn export_grouped_scenes_flat(
    mnist: &Mnist,
    groups: &[(&[i64], &str)],
    per_class: usize,
    canvas: u32,
    backgrounds: &Backgrounds,
    style: &SceneStyle,
    out: &Path,
) -> Result<usize> {
    export_grouped(
        mnist,
        groups,
        per_class,
        canvas,
        backgrounds,
        style,
        &|name, k| out.join(format!("{name}.{k}.png")),
    )
}

/// Writes the scenes of each group to `path(name, k)`; scene `k` of a group draws digit
/// `k % m` of its `m` digits, that digit's `k / m`-th training image, from seed (name, k) —
/// the same scene whatever the layout.
fn export_grouped(
    mnist: &Mnist,
    groups: &[(&[i64], &str)],
    per_class: usize,
    canvas: u32,
    backgrounds: &Backgrounds,
    style: &SceneStyle,
    path: &dyn Fn(&str, usize) -> std::path::PathBuf,
) -> Result<usize> {
    let mut written = 0;
    for (digits, name) in groups {
        let m = digits.len().max(1);
        let picks = mnist.first_train_indices(digits, per_class.div_ceil(m), "digit scenes")?;
        for k in 0..per_class {
            let path = path(name, k);
            if path.exists() {
                continue;
            }
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            }
            let i = picks[k % m][k / m];
            let seed = convkit_tensor::seed::derive(11, name, k as u64);
            let scene = compose_styled(&mnist.train_digit(i)?, backgrounds, canvas, seed, style);
            save_atomic(&scene.image.into(), &path, image::ImageFormat::Png)?;
            written += 1;
        }
    }
    Ok(written)
}

/// Writes `count` scenes of any digit in the Oxford-IIIT Pet layout: `out/images/<id>.jpg`
/// and `out/annotations/trimaps/<id>.png` (1 digit, 2 background, 3 border), drawn in
/// `style`. Files already there are kept. Returns the number written.
pub fn export_oxford_layout(
    mnist: &Mnist,
    count: usize,
    canvas: u32,
    backgrounds: &Backgrounds,
    style: &SceneStyle,
    out: &Path,
) -> Result<usize> {
    let images = out.join("images");
    let trimaps = out.join("annotations").join("trimaps");
    for d in [&images, &trimaps] {
        std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
    }
    let total = mnist.train_labels.size().first().copied().unwrap_or(0) as usize;
    if count > total {
        return Err(Error::option(
            "digit scenes",
            "count",
            format!("{count} scenes asked, MNIST has {total} training digits"),
        ));
    }
    let mut written = 0;
    for k in 0..count {
        let id = format!("digit_{k:05}");
        let img_path = images.join(format!("{id}.jpg"));
        let map_path = trimaps.join(format!("{id}.png"));
        if img_path.exists() && map_path.exists() {
            continue;
        }
        let seed = convkit_tensor::seed::derive(13, "oxford", k as u64);
        let scene = compose_styled(&mnist.train_digit(k)?, backgrounds, canvas, seed, style);
        save_atomic(&scene.trimap.into(), &map_path, image::ImageFormat::Png)?;
        save_atomic(&scene.image.into(), &img_path, image::ImageFormat::Jpeg)?;
        written += 1;
    }
    Ok(written)
}
