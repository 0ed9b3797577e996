//! The feature cache: built once, streamed in shards, refused for another model or other
//! data, rebuilt when a run was killed before the manifest was written.

mod common;

use convkit_data::feature_cache::{CacheKey, FeatureCache};
use convkit_data::image_folder::{ImageFolder, ImageFolderOptions, LabelMode};
use convkit_tensor::tch::Tensor;
use convkit_tensor::BatchSource;

fn folder(root: &std::path::Path) -> ImageFolder {
    ImageFolder::open(
        root,
        ImageFolderOptions::flow_from_directory()
            .target_size(12, 12)
            .batch_size(4)
            .shuffle(false)
            .label_mode(LabelMode::Binary)
            .rescale(1.0 / 255.0),
    )
    .unwrap()
}

/// A stand-in conv base: global average per channel, then x2 (so features differ from inputs).
fn base(x: &Tensor) -> convkit_data::Result<Tensor> {
    Ok(x.f_mean_dim(&[2i64, 3][..], false, None)?
        .f_mul_scalar(2.0)?)
}

#[test]
fn builds_streams_and_refuses_mismatches() {
    let data = tempfile::tempdir().unwrap();
    common::class_folder(data.path(), &["cat", "dog"], 7);
    let mut src = folder(data.path());
    let key = CacheKey {
        model: "base-v1".into(),
        data: src.fingerprint(),
    };
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = dir.path().join("features");
    let mut calls = 0;
    let mut extract = |x: &Tensor| {
        calls += 1;
        base(x)
    };
    let cache =
        FeatureCache::open_or_build(&cache_dir, key.clone(), &mut src, &mut extract, 5).unwrap();
    assert_eq!(calls, 4, "14 images in batches of 4");
    let m = cache.manifest();
    assert_eq!(m.num_samples, 14);
    assert_eq!(m.feature_shape, vec![3]);
    assert_eq!(m.target_shape, vec![1]);
    // batches of 4 are gathered until a shard holds at least 5 samples: 8, then the last 6
    let sizes: Vec<usize> = m.shards.iter().map(|s| s.1).collect();
    assert_eq!(sizes, vec![8, 6]);

    // the cached features equal the base's output on the same images
    let expected: Vec<Tensor> = src
        .epoch(0)
        .unwrap()
        .map(|b| base(&b.unwrap().inputs).unwrap())
        .collect();
    let expected = Tensor::cat(&expected, 0);
    let mut streamed = cache.batches(3, false, 0);
    let got: Vec<Tensor> = streamed
        .epoch(0)
        .unwrap()
        .map(|b| b.unwrap().inputs)
        .collect();
    assert!(Tensor::cat(&got, 0).allclose(&expected, 1e-6, 1e-6, false));

    // shuffled streaming serves every sample once per epoch
    let mut shuffled = cache.batches(3, true, 9);
    let mut targets = 0.0;
    let mut n = 0;
    for b in shuffled.epoch(1).unwrap() {
        let b = b.unwrap();
        n += b.len();
        targets += b.targets.sum(convkit_tensor::Kind::Float).double_value(&[]);
    }
    assert_eq!((n, targets), (14, 7.0));

    // reopened with the same key: no extraction
    let mut calls2 = 0;
    let mut extract2 = |x: &Tensor| {
        calls2 += 1;
        base(x)
    };
    FeatureCache::open_or_build(&cache_dir, key.clone(), &mut src, &mut extract2, 5).unwrap();
    assert_eq!(calls2, 0);

    // another model or other data is refused, naming what differs
    let other_model = CacheKey {
        model: "base-v2".into(),
        ..key.clone()
    };
    let e = FeatureCache::open(&cache_dir, &other_model)
        .unwrap_err()
        .to_string();
    assert!(e.contains("base-v1") && e.contains("base-v2"), "{e}");
    common::write_png(
        &data.path().join("dog").join("dog.99.png"),
        &common::photo(20, 20, 99),
    );
    let changed = CacheKey {
        model: key.model.clone(),
        data: folder(data.path()).fingerprint(),
    };
    assert_ne!(changed.data, key.data);
    let e = FeatureCache::open(&cache_dir, &changed)
        .unwrap_err()
        .to_string();
    assert!(e.contains("data"), "{e}");

    // a build killed before its manifest leaves no cache: open finds nothing
    std::fs::remove_file(cache_dir.join("manifest.json")).unwrap();
    assert!(FeatureCache::open(&cache_dir, &key).unwrap().is_none());
}
