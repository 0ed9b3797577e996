//! Listing order and both validation-split rules against Keras 3.15.1, and numpy's legacy
//! `RandomState` shuffle that the seeded rule relies on.
//!
//! Fixture: `scripts/fixtures/make_augment_golden.py` wrote `keras_split_rules.json` from
//! ```python
//! ImageDataGenerator(validation_split=0.3).flow_from_directory(dir, subset=S, shuffle=False)
//! dataset_utils.index_directory(dir, labels="inferred", formats=FORMATS, shuffle=True, seed=SEED)
//! dataset_utils.get_training_or_validation_split(samples, labels, split, subset)
//! np.random.RandomState(seed).randint(0, 2**32, size=8, dtype=np.uint64)
//! a = list(range(n)); np.random.RandomState(seed).shuffle(a)
//! ```
//! over a synthetic tree of empty files (listing does not open them).

use std::path::Path;

use convkit_data::image_folder::{
    list_class_folders, split, ImageFolderOptions, SplitRule, Subset,
};
use convkit_data::numpy_random::RandomState;
use serde_json::Value;

fn fixture() -> Value {
    serde_json::from_str(&std::fs::read_to_string("tests/fixtures/keras_split_rules.json").unwrap())
        .unwrap()
}

fn build_tree(root: &Path, fx: &Value) {
    for rel in fx["tree"].as_array().unwrap() {
        let p = root.join(rel.as_str().unwrap());
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b"").unwrap();
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn rel(root: &Path, samples: &[convkit_data::image_folder::Sample]) -> (Vec<String>, Vec<usize>) {
    samples
        .iter()
        .map(|s| {
            let r = s
                .path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (r, s.label)
        })
        .unzip()
}

fn labels(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

#[test]
fn flow_from_directory_split_matches_keras() {
    let fx = fixture();
    let dir = tempfile::tempdir().unwrap();
    build_tree(dir.path(), &fx);
    let flow = &fx["legacy_flow_from_directory"];
    let formats = strings(&flow["white_list_formats"]);
    let formats: Vec<&str> = formats.iter().map(String::as_str).collect();
    let opts = ImageFolderOptions::flow_from_directory().formats(&formats);
    let listing = list_class_folders(dir.path(), &opts).unwrap();
    assert_eq!(listing.class_names, vec!["cats", "dogs", "zebra"]);
    for (subset, key) in [
        (Subset::Training, "training"),
        (Subset::Validation, "validation"),
    ] {
        let got = split(
            &listing,
            0.3,
            subset,
            SplitRule::FlowFromDirectory,
            false,
            0,
        );
        let (paths, classes) = rel(dir.path(), &got);
        assert_eq!(paths, strings(&flow[key]["filenames"]), "{key}");
        assert_eq!(classes, labels(&flow[key]["classes"]), "{key}");
    }
}

#[test]
fn image_dataset_from_directory_split_matches_keras() {
    let fx = fixture();
    let dir = tempfile::tempdir().unwrap();
    build_tree(dir.path(), &fx);
    let ds = &fx["image_dataset_from_directory"];
    let formats = strings(&ds["formats"]);
    let formats: Vec<&str> = formats.iter().map(String::as_str).collect();
    let opts = ImageFolderOptions::image_dataset_from_directory().formats(&formats);
    let listing = list_class_folders(dir.path(), &opts).unwrap();
    let (paths, classes) = rel(dir.path(), &listing.samples);
    assert_eq!(paths, strings(&ds["unshuffled"]["paths"]));
    assert_eq!(classes, labels(&ds["unshuffled"]["labels"]));
    let cases = ds["splits"].as_array().unwrap();
    assert!(cases.len() >= 2);
    for case in cases {
        let seed = case["seed"].as_u64().unwrap();
        let fraction = case["validation_split"].as_f64().unwrap();
        for (subset, key) in [
            (Subset::Training, "training"),
            (Subset::Validation, "validation"),
        ] {
            let got = split(
                &listing,
                fraction,
                subset,
                SplitRule::DatasetFromDirectory,
                true,
                seed,
            );
            let (paths, classes) = rel(dir.path(), &got);
            assert_eq!(paths, strings(&case[key]["paths"]), "seed {seed} {key}");
            assert_eq!(classes, labels(&case[key]["labels"]), "seed {seed} {key}");
        }
    }
}

#[test]
fn numpy_random_state_matches_numpy() {
    let fx = fixture();
    let np = &fx["numpy_legacy_random"];
    for (seed, raw) in np["raw_uint32"].as_object().unwrap() {
        let mut rs = RandomState::new(seed.parse().unwrap());
        let got: Vec<u64> = (0..8).map(|_| u64::from(rs.next_u32())).collect();
        let want: Vec<u64> = raw
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(got, want, "seed {seed}");
    }
    let mut checked = 0;
    for (seed, by_n) in np["shuffle"].as_object().unwrap() {
        for (n, want) in by_n.as_object().unwrap() {
            let mut a: Vec<usize> = (0..n.parse().unwrap()).collect();
            RandomState::new(seed.parse().unwrap()).shuffle(&mut a);
            assert_eq!(a, labels(want), "seed {seed} n {n}");
            checked += 1;
        }
    }
    assert!(checked >= 30);
}
