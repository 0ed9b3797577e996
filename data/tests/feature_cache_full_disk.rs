//! A feature cache rebuilt on a full disk fails with a clear error and keeps the previous
//! complete cache. As in `layers/tests/full_disk.rs`, the test re-runs itself under
//! `ulimit -f` (RLIMIT_FSIZE, SIGXFSZ ignored); the child rebuilds the cache with features too
//! large for the limit.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Command;

use convkit_data::feature_cache::{CacheKey, FeatureCache};
use convkit_data::image_folder::{ImageFolder, ImageFolderOptions, LabelMode};
use convkit_tensor::tch::Tensor;
use convkit_tensor::BatchSource;

const CHILD: &str = "CONVKIT_FULL_DISK_CACHE";

fn folder(root: &Path) -> ImageFolder {
    let options = ImageFolderOptions::flow_from_directory()
        .target_size(12, 12)
        .batch_size(4)
        .shuffle(false)
        .label_mode(LabelMode::Binary);
    ImageFolder::open(root, options).unwrap()
}

/// Features of `width` values per image (the channel means, repeated).
fn features(x: &Tensor, width: i64) -> convkit_data::Result<Tensor> {
    let means = x.f_mean_dim(&[2i64, 3][..], false, None)?;
    Ok(means.f_repeat([1, width / 3])?)
}

fn key(src: &ImageFolder) -> CacheKey {
    CacheKey {
        model: "base".into(),
        data: src.fingerprint(),
    }
}

/// The child's part: 14 images of 30,000 features (1.7 MB) past the 64 KiB limit.
#[test]
fn full_disk_cache_child() {
    let Some(root) = std::env::var_os(CHILD) else {
        return;
    };
    let root = Path::new(&root);
    let mut src = folder(&root.join("images"));
    let mut wide = |x: &Tensor| features(x, 30_000);
    let e = FeatureCache::build(&root.join("cache"), key(&src), &mut src, &mut wide, 5)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("File too large") && e.contains("features-"),
        "{e}"
    );
    writeln!(std::io::stdout(), "CHILD-REFUSED: {e}").unwrap();
}

#[test]
fn a_cache_rebuilt_on_a_full_disk_keeps_the_previous_cache() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    common::class_folder(&tmp.path().join("images"), &["cat", "dog"], 7);
    let mut src = folder(&tmp.path().join("images"));
    let cache_dir = tmp.path().join("cache");
    let mut narrow = |x: &Tensor| features(x, 3);
    FeatureCache::build(&cache_dir, key(&src), &mut src, &mut narrow, 5).unwrap();

    let me = std::env::current_exe().unwrap();
    let out = Command::new("bash")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 64; exec \"$0\" \"$@\"")
        .arg(&me)
        .args(["--exact", "full_disk_cache_child", "--nocapture"])
        .env(CHILD, tmp.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && text.contains("CHILD-REFUSED"),
        "{text}"
    );

    // The first cache opens whole, with its 3 features per image; no temporary is left.
    let cache = FeatureCache::open(&cache_dir, &key(&src)).unwrap().unwrap();
    assert_eq!(cache.manifest().feature_shape, vec![3]);
    assert_eq!(cache.manifest().num_samples, 14);
    let mut batches = cache.batches(14, false, 0);
    let n: usize = batches.epoch(0).unwrap().map(|b| b.unwrap().len()).sum();
    assert_eq!(n, 14);
    let names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");
}
