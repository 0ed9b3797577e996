//! Given a seed, the image-folder loader yields bit-identical batches with 1, 2 and 8 worker
//! threads (per-sample randomness is derived from seed, epoch and sample index), and a
//! different seed gives different batches.

mod common;

use std::sync::Arc;

use convkit_augment::ops::{AdditiveGaussianNoise, GaussianBlur, Multiply};
use convkit_augment::pipeline::{Sequential, SomeOf};
use convkit_augment::{Augmenter, ImageDataGenerator};
use convkit_data::image_folder::{DecodedCache, ImageFolder, ImageFolderOptions, LabelMode};
use convkit_tensor::tch::Tensor;
use convkit_tensor::BatchSource;

fn augmenter() -> Arc<dyn Augmenter> {
    Arc::new(Sequential::new(vec![
        Box::new(ImageDataGenerator::book()),
        Box::new(
            SomeOf::new(
                (1, 2),
                vec![
                    Box::new(GaussianBlur::new((0.0, 1.5)).unwrap()),
                    Box::new(AdditiveGaussianNoise::new(0.0, (0.0, 12.0)).unwrap()),
                    Box::new(Multiply::new((0.8, 1.2)).unwrap().per_channel(0.5).unwrap()),
                ],
            )
            .unwrap()
            .random_order(true),
        ),
    ]))
}

fn batches(
    root: &std::path::Path,
    threads: usize,
    seed: u64,
    cache: DecodedCache,
) -> Vec<(Tensor, Tensor)> {
    let opts = ImageFolderOptions::flow_from_directory()
        .target_size(24, 20)
        .batch_size(5)
        .label_mode(LabelMode::Categorical)
        // The pipeline's ImageDataGenerator::book() carries rescale 1/255.
        .threads(threads)
        .seed(seed)
        .cache(cache)
        .augment(augmenter());
    let mut folder = ImageFolder::open(root, opts).unwrap();
    let mut out = vec![];
    for epoch in 0..2 {
        for b in folder.epoch(epoch).unwrap() {
            let b = b.unwrap();
            out.push((b.inputs, b.targets));
        }
    }
    out
}

fn identical(a: &[(Tensor, Tensor)], b: &[(Tensor, Tensor)]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.0.equal(&y.0) && x.1.equal(&y.1))
}

#[test]
fn same_seed_same_batches_for_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    common::class_folder(dir.path(), &["cat", "dog", "fox"], 9);
    let one = batches(dir.path(), 1, 11, DecodedCache::None);
    assert_eq!(one.len(), 2 * 6, "27 images in batches of 5, two epochs");
    for threads in [2, 8] {
        let other = batches(dir.path(), threads, 11, DecodedCache::None);
        assert!(identical(&one, &other), "{threads} threads differ from 1");
    }
    // the decoded-image cache does not change a bit either
    let cached = batches(dir.path(), 2, 11, DecodedCache::Memory);
    assert!(identical(&one, &cached), "memory cache changes the batches");
    let disk = tempfile::tempdir().unwrap();
    let on_disk = batches(
        dir.path(),
        2,
        11,
        DecodedCache::Disk(disk.path().to_path_buf()),
    );
    assert!(identical(&one, &on_disk), "disk cache changes the batches");
    // epochs differ from each other, and another seed gives other batches
    assert!(!one[0].0.equal(&one[6].0));
    let reseeded = batches(dir.path(), 1, 12, DecodedCache::None);
    assert!(!identical(&one, &reseeded));
}

#[test]
fn repeat_serves_each_image_several_times_with_fresh_augmentation() {
    let dir = tempfile::tempdir().unwrap();
    common::class_folder(dir.path(), &["a", "b"], 3);
    let opts = ImageFolderOptions::flow_from_directory()
        .target_size(16, 16)
        .batch_size(6)
        .shuffle(false)
        .label_mode(LabelMode::Sparse)
        .seed(4)
        .augment(augmenter())
        .repeat(2);
    let mut folder = ImageFolder::open(dir.path(), opts).unwrap();
    assert_eq!(folder.num_samples(), 12);
    assert_eq!(folder.batches_per_epoch(), 2);
    let batches: Vec<_> = folder.epoch(0).unwrap().map(|b| b.unwrap()).collect();
    assert_eq!(batches.len(), 2);
    // same images, same order (no shuffle), different augmentations
    assert!(batches[0].targets.equal(&batches[1].targets));
    assert!(!batches[0].inputs.equal(&batches[1].inputs));
}
