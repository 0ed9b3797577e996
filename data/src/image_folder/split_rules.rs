//! Keras' two validation-split rules over a [`Listing`].

use super::listing::{Listing, Sample};
use super::options::{SplitRule, Subset};
use crate::numpy_random::RandomState;

/// The samples of `subset` under `rule` with a validation fraction `fraction`.
///
/// - [`SplitRule::FlowFromDirectory`]: per class, files `[0, int(f * n))` are validation and
///   `[int(f * n), n)` training.
/// - [`SplitRule::DatasetFromDirectory`]: all files shuffled by numpy's
///   `RandomState(seed).shuffle` (when `shuffle`), then the last `int(f * n)` are validation.
pub fn split(
    listing: &Listing,
    fraction: f64,
    subset: Subset,
    rule: SplitRule,
    shuffle: bool,
    seed: u64,
) -> Vec<Sample> {
    match rule {
        SplitRule::FlowFromDirectory => {
            let mut out = Vec::new();
            for label in 0..listing.class_names.len() {
                let class: Vec<&Sample> = listing
                    .samples
                    .iter()
                    .filter(|s| s.label == label)
                    .collect();
                let n = class.len();
                let cut = (fraction * n as f64) as usize;
                let range = match subset {
                    Subset::Validation => 0..cut,
                    Subset::Training => cut..n,
                };
                out.extend(class[range].iter().map(|s| (*s).clone()));
            }
            out
        }
        SplitRule::DatasetFromDirectory => {
            let mut samples = listing.samples.clone();
            if shuffle {
                RandomState::new(seed as u32).shuffle(&mut samples);
            }
            let n = samples.len();
            let num_val = (fraction * n as f64) as usize;
            match subset {
                Subset::Validation => samples.split_off(n - num_val),
                Subset::Training => {
                    samples.truncate(n - num_val);
                    samples
                }
            }
        }
    }
}
