//! `ImageDataGenerator::rescale` is applied by the image folder that uses the generator, as
//! Keras' `flow_from_directory` applies it; setting it both there and on the folder is an
//! error naming `rescale` (before, the generator's factor was silently ignored and batches
//! reached 255).

mod common;

use std::sync::Arc;

use convkit_augment::ImageDataGenerator;
use convkit_data::image_folder::{ImageFolder, ImageFolderOptions, LabelMode};
use convkit_tensor::BatchSource;

fn options() -> ImageFolderOptions {
    ImageFolderOptions::flow_from_directory()
        .target_size(16, 16)
        .batch_size(4)
        .shuffle(false)
        .label_mode(LabelMode::Binary)
}

fn max_pixel(folder: &mut ImageFolder) -> f64 {
    let b = folder.epoch(0).unwrap().next().unwrap().unwrap();
    b.inputs.max().double_value(&[])
}

#[test]
fn the_generators_rescale_reaches_the_batches() {
    let dir = tempfile::tempdir().unwrap();
    common::class_folder(dir.path(), &["a", "b"], 4);

    // No rescale anywhere: bytes as floats, as Keras without rescale.
    let mut plain = ImageFolder::open(dir.path(), options()).unwrap();
    let raw = max_pixel(&mut plain);
    assert!(raw > 1.0, "the test photos have bright pixels: {raw}");

    // The book's generator (rescale 1/255, no random transform here: identity ranges).
    let generator = ImageDataGenerator::default().rescale(1.0 / 255.0);
    let mut augmented =
        ImageFolder::open(dir.path(), options().augment(Arc::new(generator))).unwrap();
    let scaled = max_pixel(&mut augmented);
    assert!(
        (scaled - raw / 255.0).abs() < 1e-6,
        "generator rescale not applied: max {scaled}, expected {}",
        raw / 255.0
    );

    // The same through the folder's own option.
    let mut folder_scaled = ImageFolder::open(dir.path(), options().rescale(1.0 / 255.0)).unwrap();
    assert!((max_pixel(&mut folder_scaled) - scaled).abs() < 1e-6);

    // Both: refused, naming the option.
    let both = ImageFolder::open(
        dir.path(),
        options()
            .rescale(1.0 / 255.0)
            .augment(Arc::new(ImageDataGenerator::book())),
    );
    let e = both.expect_err("rescale set twice is an error").to_string();
    assert!(e.contains("rescale") && e.contains("set twice"), "{e}");
}
