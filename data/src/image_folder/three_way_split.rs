//! Splitting one class-folder tree into training, validation and test listings
//! ([`split_three_ways`]): stratified per class by default, or by either of Keras' two
//! validation-split rules extended to a test part.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::listing::{Listing, Sample};
use crate::numpy_random::RandomState;
use crate::{Error, Result};

/// How [`split_three_ways`] picks each part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ThreeWaySplit {
    /// Per class: the class's files shuffled from (seed, class), then `round(f * n)` of them
    /// to validation and `round(t * n)` to test, so every part keeps the class proportions.
    Stratified,
    /// Keras' `flow_from_directory` rule: per class, the first `int(f * n)` sorted files are
    /// validation, the next `int(t * n)` test, the rest training (not shuffled).
    FlowFromDirectory,
    /// Keras' `image_dataset_from_directory` rule: all files shuffled by numpy's
    /// `RandomState(seed)`, the last `int(f * N)` validation, the `int(t * N)` before them
    /// test (classes may end up unevenly represented).
    DatasetFromDirectory,
}

impl ThreeWaySplit {
    /// Parses `stratified`, `flow-from-directory` or `dataset-from-directory`.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "stratified" => Ok(ThreeWaySplit::Stratified),
            "flow-from-directory" => Ok(ThreeWaySplit::FlowFromDirectory),
            "dataset-from-directory" => Ok(ThreeWaySplit::DatasetFromDirectory),
            _ => Err(Error::option(
                "split",
                "rule",
                format!(
                    "must be stratified, flow-from-directory or dataset-from-directory, got \
                     '{name}'"
                ),
            )),
        }
    }
}

/// The three listings of a split (a part not asked for is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingSplit {
    /// Training files.
    pub train: Listing,
    /// Validation files.
    pub validation: Listing,
    /// Test files.
    pub test: Listing,
}

/// Splits `listing` into training, validation (`validation` fraction) and test (`test`
/// fraction) parts under `rule`, reproducibly from `seed`. Each part keeps the class names.
///
/// Refused, naming the class: fractions outside `[0, 1)` or summing to 1 or more, a class
/// the split leaves without training images, and (when that part is asked for) a class it
/// leaves without validation or test images, since its metrics would be computed on nothing.
pub fn split_three_ways(
    listing: &Listing,
    validation: f64,
    test: f64,
    rule: ThreeWaySplit,
    seed: u64,
) -> Result<ListingSplit> {
    for (name, f) in [("validation_split", validation), ("test_split", test)] {
        if !(0.0..1.0).contains(&f) {
            return Err(Error::option(
                "split",
                name,
                format!("must lie in [0, 1), got {f}"),
            ));
        }
    }
    if validation + test >= 1.0 {
        return Err(Error::option(
            "split",
            "validation_split + test_split",
            format!(
                "must be below 1 to leave training images, got {}",
                validation + test
            ),
        ));
    }
    let classes = listing.class_names.len();
    let by_class = |label: usize| -> Vec<Sample> {
        listing
            .samples
            .iter()
            .filter(|s| s.label == label)
            .cloned()
            .collect()
    };
    let mut parts: [Vec<Sample>; 3] = Default::default();
    match rule {
        ThreeWaySplit::Stratified | ThreeWaySplit::FlowFromDirectory => {
            for label in 0..classes {
                let mut files = by_class(label);
                let n = files.len() as f64;
                let (n_val, n_test) = if rule == ThreeWaySplit::Stratified {
                    let stream =
                        convkit_tensor::seed::derive(seed, "stratified-split", label as u64);
                    files.shuffle(&mut ChaCha8Rng::seed_from_u64(stream));
                    (
                        (validation * n).round() as usize,
                        (test * n).round() as usize,
                    )
                } else {
                    ((validation * n) as usize, (test * n) as usize)
                };
                let n_val = n_val.min(files.len());
                let n_test = n_test.min(files.len() - n_val);
                let rest = files.split_off(n_val);
                let (test_files, train_files) = rest.split_at(n_test);
                parts[1].extend(files);
                parts[2].extend(test_files.iter().cloned());
                parts[0].extend(train_files.iter().cloned());
            }
        }
        ThreeWaySplit::DatasetFromDirectory => {
            let mut files = listing.samples.clone();
            RandomState::new(seed as u32).shuffle(&mut files);
            let n = files.len();
            let n_val = (validation * n as f64) as usize;
            let n_test = (test * n as f64) as usize;
            let val = files.split_off(n - n_val);
            let test_files = files.split_off(n - n_val - n_test);
            parts = [files, val, test_files];
        }
    }
    for (part, asked, name) in [
        (0, true, "training"),
        (1, validation > 0.0, "validation"),
        (2, test > 0.0, "test"),
    ] {
        if !asked {
            continue;
        }
        if let Some(label) = (0..classes).find(|&c| !parts[part].iter().any(|s| s.label == c)) {
            let have = listing.samples.iter().filter(|s| s.label == label).count();
            return Err(Error::option(
                "split",
                "classes",
                format!(
                    "class '{}' has {have} image(s): this split (validation {validation}, test \
                     {test}, rule {rule:?}) leaves it no {name} image; add images to it, \
                     change the fractions, or remove the class folder",
                    listing.class_names[label]
                ),
            ));
        }
    }
    let listing_of = |samples: Vec<Sample>| Listing {
        class_names: listing.class_names.clone(),
        samples,
    };
    let [train, val, test_files] = parts;
    Ok(ListingSplit {
        train: listing_of(train),
        validation: listing_of(val),
        test: listing_of(test_files),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(counts: &[usize]) -> Listing {
        let mut samples = Vec::new();
        for (label, &n) in counts.iter().enumerate() {
            for i in 0..n {
                samples.push(Sample {
                    path: format!("c{label}/{i:03}.png").into(),
                    label,
                });
            }
        }
        Listing {
            class_names: (0..counts.len()).map(|c| format!("c{c}")).collect(),
            samples,
        }
    }

    fn count(l: &Listing, label: usize) -> usize {
        l.samples.iter().filter(|s| s.label == label).count()
    }

    #[test]
    fn stratified_keeps_proportions_and_is_reproducible() {
        let l = listing(&[50, 20, 7]);
        let s = split_three_ways(&l, 0.2, 0.1, ThreeWaySplit::Stratified, 5).unwrap();
        assert_eq!(
            [
                count(&s.validation, 0),
                count(&s.validation, 1),
                count(&s.validation, 2)
            ],
            [10, 4, 1]
        );
        assert_eq!(
            [count(&s.test, 0), count(&s.test, 1), count(&s.test, 2)],
            [5, 2, 1]
        );
        assert_eq!(
            s.train.samples.len() + s.validation.samples.len() + s.test.samples.len(),
            77
        );
        assert_eq!(
            s,
            split_three_ways(&l, 0.2, 0.1, ThreeWaySplit::Stratified, 5).unwrap()
        );
        assert_ne!(
            s,
            split_three_ways(&l, 0.2, 0.1, ThreeWaySplit::Stratified, 6).unwrap()
        );
        let mut all: Vec<_> = [&s.train, &s.validation, &s.test]
            .iter()
            .flat_map(|p| p.samples.iter().map(|x| x.path.clone()))
            .collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 77, "every file in exactly one part");
    }

    #[test]
    fn flow_rule_takes_the_first_files_of_each_class() {
        let l = listing(&[10, 10]);
        let s = split_three_ways(&l, 0.2, 0.3, ThreeWaySplit::FlowFromDirectory, 0).unwrap();
        assert_eq!(
            s.validation.samples[0].path,
            std::path::PathBuf::from("c0/000.png")
        );
        assert_eq!(
            s.test.samples[0].path,
            std::path::PathBuf::from("c0/002.png")
        );
        assert_eq!(count(&s.train, 1), 5);
    }

    #[test]
    fn a_class_left_without_a_part_is_named() {
        let l = listing(&[20, 1]);
        let e = split_three_ways(&l, 0.2, 0.0, ThreeWaySplit::Stratified, 0)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("class 'c1' has 1 image(s)") && e.contains("no validation image"),
            "{e}"
        );
        assert!(split_three_ways(&l, 0.5, 0.5, ThreeWaySplit::Stratified, 0).is_err());
        assert!(split_three_ways(&l, f64::NAN, 0.0, ThreeWaySplit::Stratified, 0).is_err());
    }
}
