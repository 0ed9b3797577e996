//! The image pipeline piece by piece: JPEG decode + resize to 150x150 (with and without
//! reduced-scale DCT decoding), each per-image transform on a 150x150 RGB image, and the full
//! loader (decode, resize, the book's augmentation, float batches of 32) over a folder.
//!
//! `CONVKIT_BENCH_JPEG_DIR=DIR` benches the loader on a real folder (e.g. the one
//! `benches/compare/make_jpeg_folder.py` writes); otherwise on 64 synthetic JPEGs of 420x390.

use std::sync::Arc;

use convkit_augment::ops::{
    AdditiveGaussianNoise, Fliplr, GaussianBlur, LinearContrast, Multiply, RandomAffine,
};
use convkit_augment::{Augmenter, HwcImage, ImageDataGenerator};
use convkit_data::image_folder::{
    ColorMode, ImageDecoder, ImageFolder, ImageFolderOptions, LabelMode, ResizeFilter,
};
use convkit_tensor::BatchSource;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use image::{Rgb, RgbImage};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A photo-like 420x390 image: smooth gradients, texture and edges.
fn photo(seed: u32) -> RgbImage {
    RgbImage::from_fn(420, 390, |x, y| {
        let fx = x as f32 / 420.0;
        let fy = y as f32 / 390.0;
        let wave = ((fx * 17.0 + seed as f32).sin() * (fy * 13.0).cos() * 60.0) as i32;
        let tex = ((x * 7919 + y * 104_729 + seed * 31) % 23) as i32;
        let edge = if (x / 60 + y / 50 + seed).is_multiple_of(3) {
            70
        } else {
            0
        };
        let v = |base: i32| (base + wave + tex + edge).clamp(0, 255) as u8;
        Rgb([v(120), v(90), v(60)])
    })
}

fn jpeg_bytes(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(img)
        .unwrap();
    out
}

fn decode(c: &mut Criterion) {
    let bytes = jpeg_bytes(&photo(1));
    let mut g = c.benchmark_group("decode_resize_150");
    g.throughput(Throughput::Elements(1));
    for (name, dct) in [("dct_scaled", true), ("full_decode", false)] {
        let d = ImageDecoder {
            target_size: (150, 150),
            color_mode: ColorMode::Rgb,
            filter: ResizeFilter::Bilinear,
            max_pixels: 1 << 28,
            dct_scaling: dct,
        };
        g.bench_function(name, |b| b.iter(|| d.decode(&bytes).unwrap()));
    }
    g.finish();
}

fn transforms(c: &mut Criterion) {
    let img = {
        let d = ImageDecoder {
            target_size: (150, 150),
            color_mode: ColorMode::Rgb,
            filter: ResizeFilter::Bilinear,
            max_pixels: 1 << 28,
            dct_scaling: false,
        };
        d.decode(&jpeg_bytes(&photo(2))).unwrap()
    };
    let cases: Vec<(&str, Box<dyn Augmenter>)> = vec![
        ("flip", Box::new(Fliplr::new(1.0).unwrap())),
        (
            "affine",
            Box::new(
                RandomAffine::new()
                    .rotate((-40.0, 40.0))
                    .unwrap()
                    .shear((-20.0, 20.0))
                    .unwrap()
                    .scale((0.8, 1.2))
                    .unwrap()
                    .translate_percent((-0.2, 0.2))
                    .unwrap(),
            ),
        ),
        ("blur", Box::new(GaussianBlur::new((0.0, 3.0)).unwrap())),
        (
            "contrast",
            Box::new(LinearContrast::new((0.75, 1.5)).unwrap()),
        ),
        (
            "noise",
            Box::new(
                AdditiveGaussianNoise::new(0.0, (0.0, 12.75))
                    .unwrap()
                    .per_channel(1.0)
                    .unwrap(),
            ),
        ),
        (
            "multiply",
            Box::new(Multiply::new((0.8, 1.2)).unwrap().per_channel(1.0).unwrap()),
        ),
        (
            "image_data_generator_book",
            Box::new(ImageDataGenerator::book()),
        ),
    ];
    let mut g = c.benchmark_group("transform_150x150");
    g.throughput(Throughput::Elements(1));
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    for (name, aug) in &cases {
        g.bench_function(*name, |b| {
            b.iter_batched(
                || img.clone(),
                |x: HwcImage| aug.augment(x, &mut rng),
                criterion::BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

fn loader(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = match std::env::var_os("CONVKIT_BENCH_JPEG_DIR") {
        Some(d) => std::path::PathBuf::from(d),
        None => {
            for i in 0..64u32 {
                let class = if i % 2 == 0 { "cat" } else { "dog" };
                let p = tmp.path().join(class).join(format!("{class}.{i}.jpg"));
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(p, jpeg_bytes(&photo(i))).unwrap();
            }
            tmp.path().to_path_buf()
        }
    };
    let mut g = c.benchmark_group("loader_epoch");
    g.sample_size(10);
    for threads in [1usize, 2] {
        let mut folder = ImageFolder::open(
            &dir,
            ImageFolderOptions::flow_from_directory()
                .target_size(150, 150)
                .batch_size(32)
                .label_mode(LabelMode::Binary)
                .threads(threads)
                // The book's generator carries rescale 1/255.
                .augment(Arc::new(ImageDataGenerator::book())),
        )
        .unwrap();
        g.throughput(Throughput::Elements(folder.num_samples() as u64));
        let mut epoch = 0;
        g.bench_function(format!("book_augmentation_{threads}_threads"), |b| {
            b.iter(|| {
                epoch += 1;
                folder
                    .epoch(epoch)
                    .unwrap()
                    .map(|b| b.unwrap().len())
                    .sum::<usize>()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, decode, transforms, loader);
criterion_main!(benches);
