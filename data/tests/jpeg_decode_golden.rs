//! JPEG decoding and resizing against Keras' `load_img` (PIL: libjpeg-turbo's decoder and
//! PIL's resampling), the loader behind `flow_from_directory`. Values from
//! `scripts/fixtures/make_jpeg_decode_golden.py`: `np.asarray(load_img(file))` and
//! `np.asarray(load_img(file, target_size=(h, w), interpolation=...))`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use convkit_data::image_folder::decode::ImageDecoder;
use convkit_data::image_folder::options::{ColorMode, ResizeFilter};

const INTERPOLATIONS: [&str; 5] = ["nearest", "bilinear", "bicubic", "lanczos", "box"];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jpeg")
}

/// `name -> (shape, bytes)` of the golden file.
fn golden() -> HashMap<String, (Vec<usize>, Vec<u8>)> {
    let bytes = std::fs::read(fixtures().join("golden.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    st.tensors()
        .into_iter()
        .map(|(name, view)| (name, (view.shape().to_vec(), view.data().to_vec())))
        .collect()
}

fn decoder(target: (usize, usize), filter: &str, dct_scaling: bool) -> ImageDecoder {
    ImageDecoder {
        target_size: target,
        color_mode: ColorMode::Rgb,
        filter: ResizeFilter::parse(filter).unwrap(),
        max_pixels: 1 << 26,
        dct_scaling,
    }
}

/// `(max, mean)` absolute difference in grey levels.
fn difference(ours: &[u8], theirs: &[u8]) -> (u8, f64) {
    assert_eq!(ours.len(), theirs.len());
    let mut max = 0u8;
    let mut sum = 0u64;
    for (a, b) in ours.iter().zip(theirs) {
        let d = a.abs_diff(*b);
        max = max.max(d);
        sum += u64::from(d);
    }
    (max, sum as f64 / ours.len() as f64)
}

fn load(stem: &str, decoder: &ImageDecoder) -> Vec<u8> {
    let img = decoder
        .load(&fixtures().join(format!("{stem}.jpg")))
        .unwrap();
    assert_eq!((img.height(), img.width()), decoder.target_size, "{stem}");
    img.into_raw()
}

/// A full-size decode is PIL's, pixel for pixel: both are libjpeg-turbo with its default
/// (accurate integer IDCT, fancy upsampling); gray files replicated to RGB as PIL converts.
#[test]
fn full_size_decodes_equal_pil() {
    let golden = golden();
    for stem in [
        "chelsea_420x390",
        "coffee_400x300_444_progressive",
        "astronaut_gray_256",
    ] {
        let (shape, theirs) = &golden[&format!("{stem}/full")];
        let ours = load(stem, &decoder((shape[0], shape[1]), "nearest", true));
        let (max, mean) = difference(&ours, theirs);
        eprintln!("{stem} full: max {max}, mean {mean:.4}");
        assert_eq!(max, 0, "{stem}: mean {mean}");
    }
}

/// Largest difference from `load_img` each filter keeps, in grey levels, at full-size decoding
/// (measured: nearest 0, bilinear and box 1, bicubic 3, lanczos 9, where fast_image_resize's
/// fixed-point rounding and PIL's 8-bit intermediate pass differ); the mean stays under 0.2.
fn tolerance(interp: &str) -> u8 {
    match interp {
        "nearest" => 0,
        "bilinear" | "box" => 1,
        "bicubic" => 3,
        _ => 9,
    }
}

/// Decode + resize against `load_img(target_size=..., interpolation=...)`: within each
/// filter's tolerance with full-size decoding (the default); reduced-scale decoding
/// (`dct_scaling`) leaves it for every filter (measured: chelsea at 1/2, bilinear max 7, mean
/// 0.56; coffee at 1/4, bilinear max 40, mean 1.5, box max 85, mean 4.0), which is why it is
/// off unless asked for.
#[test]
fn resized_decodes_match_load_img_unless_dct_scaled() {
    let golden = golden();
    for (stem, target) in [
        ("chelsea_420x390", (150, 150)),
        ("coffee_400x300_444_progressive", (70, 90)),
    ] {
        for interp in INTERPOLATIONS {
            let (_, theirs) = &golden[&format!("{stem}/{interp}_{}x{}", target.0, target.1)];
            let ours = load(stem, &decoder(target, interp, false));
            let (max, mean) = difference(&ours, theirs);
            eprintln!("{stem} {interp}: max {max}, mean {mean:.4}");
            assert!(max <= tolerance(interp), "{stem} {interp}: max {max}");
            assert!(mean < 0.2, "{stem} {interp}: mean {mean}");

            let scaled = load(stem, &decoder(target, interp, true));
            let (max, mean) = difference(&scaled, theirs);
            eprintln!("{stem} {interp} dct-scaled: max {max}, mean {mean:.4}");
            assert!(
                max > tolerance(interp) || mean >= 0.2,
                "{stem} {interp}: dct scaling within the tolerance (max {max}, mean {mean}): \
                 it could be on by default for this filter"
            );
        }
    }
}

/// The loader's default is Keras' pixels; reduced-scale decoding is asked for.
#[test]
fn image_folders_decode_at_full_size_by_default() {
    use convkit_data::image_folder::ImageFolderOptions;
    assert!(!ImageFolderOptions::flow_from_directory().dct_scaling);
    assert!(!ImageFolderOptions::image_dataset_from_directory().dct_scaling);
    assert!(
        ImageFolderOptions::flow_from_directory()
            .dct_scaling(true)
            .dct_scaling
    );
}
