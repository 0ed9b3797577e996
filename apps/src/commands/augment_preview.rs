//! `convkit augment preview IMAGE --out DIR`: one PNG grid of augmented versions of an image
//! (the book's "randomly show some augmented images").

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use convkit_augment::{Augmenter, ImageDataGenerator};
use convkit_data::image_folder::{ColorMode, ImageDecoder, ResizeFilter};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::ranges;
use crate::runtime::{claim_out_dir, RuntimeArgs};

/// Arguments of `convkit augment`.
#[derive(Args, Debug)]
pub struct AugmentArgs {
    #[command(subcommand)]
    what: AugmentWhat,
}

#[derive(Subcommand, Debug)]
enum AugmentWhat {
    /// Write a PNG grid of augmented versions of one image.
    Preview(PreviewArgs),
}

/// Arguments of `convkit augment preview`.
#[derive(Args, Debug)]
pub struct PreviewArgs {
    /// The image (jpg, png, bmp, gif, webp, tiff).
    image: PathBuf,
    /// Output directory (receives augmented.png).
    #[arg(long, default_value = "runs/augment-preview")]
    out: PathBuf,
    /// Number of augmented versions.
    #[arg(long, default_value_t = 8, value_parser = ranges::count(1, 256))]
    count: usize,
    /// Columns of the grid.
    #[arg(long, default_value_t = 3, value_parser = ranges::count(1, 64))]
    cols: usize,
    /// Side of each tile (the image is resized to size x size first).
    #[arg(long, default_value_t = 150, value_parser = ranges::picture_side())]
    size: usize,
    /// Augmentation: book (Keras ImageDataGenerator, the cats-vs-dogs settings) or imgaug
    /// (flips, crops, blur, contrast, noise, multiply, affine).
    #[arg(long, default_value = "book")]
    preset: String,
    #[command(flatten)]
    rt: RuntimeArgs,
}

/// Runs `convkit augment ...`.
pub fn run(args: AugmentArgs) -> anyhow::Result<()> {
    match args.what {
        AugmentWhat::Preview(a) => preview(a),
    }
}

fn preview(a: PreviewArgs) -> anyhow::Result<()> {
    a.rt.setup()?;
    let side = a.size as u64;
    // Each version as u8 pixels, the float copy augmenters work on, and the grid.
    ranges::check_memory(
        &format!("--count {} at --size {}", a.count, a.size),
        &[a.count as u64 + 1, side, side, 3],
        6,
    )?;
    let _lock = claim_out_dir(&a.out)?;
    let decoder = ImageDecoder {
        target_size: (a.size, a.size),
        color_mode: ColorMode::Rgb,
        filter: ResizeFilter::Bilinear,
        max_pixels: 2 * 89_478_485,
        dct_scaling: false,
    };
    let original = decoder
        .load(&a.image)
        .map_err(|p| anyhow::anyhow!("{}: {p}", a.image.display()))?;
    let aug: Box<dyn Augmenter> = match a.preset.as_str() {
        "book" => Box::new(ImageDataGenerator::book()),
        "imgaug" => Box::new(convkit_augment::presets::imgaug_readme()?),
        other => anyhow::bail!("--preset must be book or imgaug, got '{other}'"),
    };
    let mut tiles = vec![original.to_dynamic().context("RGB image")?.to_rgb8()];
    let mut captions = vec!["original".to_string()];
    for k in 0..a.count {
        let seed = convkit_tensor::seed::derive(a.rt.seed, "augment-preview", k as u64);
        let out = aug.augment(original.clone(), &mut ChaCha8Rng::seed_from_u64(seed));
        tiles.push(out.to_dynamic().context("RGB image")?.to_rgb8());
        captions.push(format!("#{}", k + 1));
    }
    let grid = convkit_viz::image_grid(&tiles, a.cols, 6, &captions)?;
    let path = a.out.join("augmented.png");
    convkit_viz::save_png(&grid, &path)?;
    println!(
        "Wrote {} ({} augmented versions, preset {}, seed {})",
        path.display(),
        a.count,
        a.preset,
        a.rt.seed
    );
    Ok(())
}
