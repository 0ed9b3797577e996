//! convkit's hand-written image kernels next to `imageproc`'s on the same 256x256 RGB input,
//! so that each kernel convkit keeps is kept for a measured reason (the figures go in the
//! README's benchmark table):
//! - Gaussian blur, sigma 1.5: `convkit_augment::ops::gaussian_blur` (u16 fixed point,
//!   separable) vs `imageproc::filter::gaussian_blur_f32`;
//! - an affine warp (15° about the centre, bilinear, replicated border):
//!   `convkit_augment::warp_affine` vs `imageproc::geometric_transformations::warp`;
//! - the 5x5 median: `convkit_augment::ops::median_blur` (which is `imageproc`'s) vs
//!   `imageproc::filter::median_filter` directly, as a check that the wrapper costs nothing.
//!
//! `cargo bench -p convkit-benches --bench kernels_vs_imageproc`

use convkit_augment::ops::gaussian_blur::gaussian_blur;
use convkit_augment::ops::median_blur;
use convkit_augment::{warp_affine, Affine, FillMode, HwcImage, Interpolation};
use criterion::{criterion_group, criterion_main, Criterion};
use image::{Rgb, RgbImage};
use imageproc::geometric_transformations::{
    warp, Border, Interpolation as IpInterpolation, Projection,
};

const SIDE: u32 = 256;

fn photo() -> RgbImage {
    RgbImage::from_fn(SIDE, SIDE, |x, y| {
        let wave = ((x as f32 / 9.0).sin() * (y as f32 / 7.0).cos() * 60.0) as i32;
        let tex = ((x * 7919 + y * 104_729) % 23) as i32;
        let v = |base: i32| (base + wave + tex).clamp(0, 255) as u8;
        Rgb([v(120), v(90), v(60)])
    })
}

fn hwc(img: &RgbImage) -> HwcImage {
    HwcImage::new(SIDE as usize, SIDE as usize, 3, img.as_raw().clone()).expect("256x256x3")
}

fn kernels(c: &mut Criterion) {
    let img = photo();
    let ours = hwc(&img);
    let mut g = c.benchmark_group("gaussian_blur_sigma1.5");
    g.bench_function("convkit", |b| b.iter(|| gaussian_blur(ours.clone(), 1.5)));
    g.bench_function("imageproc", |b| {
        b.iter(|| imageproc::filter::gaussian_blur_f32(&img, 1.5))
    });
    g.finish();

    let half = f64::from(SIDE) / 2.0;
    let theta = 15f64.to_radians();
    let inverse = Affine::rotation(-theta).about(half, half);
    let projection = Projection::translate(half as f32, half as f32)
        * Projection::rotate(theta as f32)
        * Projection::translate(-half as f32, -half as f32);
    let mut g = c.benchmark_group("warp_rotate15_bilinear");
    g.bench_function("convkit", |b| {
        b.iter(|| {
            warp_affine(
                &ours,
                &inverse,
                SIDE as usize,
                SIDE as usize,
                Interpolation::Bilinear,
                FillMode::Nearest,
            )
        })
    });
    g.bench_function("imageproc", |b| {
        b.iter(|| {
            warp(
                &img,
                projection,
                IpInterpolation::Bilinear,
                Border::Replicate,
            )
        })
    });
    g.finish();

    let mut g = c.benchmark_group("median_5x5");
    g.bench_function("convkit", |b| b.iter(|| median_blur(&ours, 5)));
    g.bench_function("imageproc", |b| {
        b.iter(|| imageproc::filter::median_filter(&img, 2, 2))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = kernels
}
criterion_main!(benches);
