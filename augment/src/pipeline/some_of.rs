//! [`SomeOf`]: applies a random subset of its children.

use rand::RngCore;

use crate::augmenter::index;
use crate::pipeline::sequential::permutation;
use crate::{Augmenter, Error, HwcImage, Result};

/// imgaug's `SomeOf(n=(lo, hi), children, random_order)`: draws how many children to apply
/// from `lo..=hi`, picks that many without replacement, and applies them in their listed
/// order (or in random order).
#[derive(Debug)]
pub struct SomeOf {
    n: (usize, usize),
    children: Vec<Box<dyn Augmenter>>,
    random_order: bool,
}

impl SomeOf {
    /// Applies between `n.0` and `n.1` (inclusive, capped at the number of children).
    pub fn new(n: (usize, usize), children: Vec<Box<dyn Augmenter>>) -> Result<Self> {
        if n.0 > n.1 {
            return Err(Error::InvalidOption {
                transform: "SomeOf",
                option: "n",
                problem: format!("must be a range (low <= high), got {n:?}"),
            });
        }
        Ok(SomeOf {
            n,
            children,
            random_order: false,
        })
    }

    /// Applies the chosen children in random order.
    pub fn random_order(mut self, yes: bool) -> Self {
        self.random_order = yes;
        self
    }
}

impl Augmenter for SomeOf {
    fn augment(&self, mut image: HwcImage, rng: &mut dyn RngCore) -> HwcImage {
        let len = self.children.len();
        let (lo, hi) = (self.n.0.min(len), self.n.1.min(len));
        let count = lo + index(rng, hi - lo + 1);
        let mut chosen: Vec<usize> = permutation(len, rng).into_iter().take(count).collect();
        if !self.random_order {
            chosen.sort_unstable();
        }
        for i in chosen {
            image = self.children[i].augment(image, rng);
        }
        image
    }
    fn name(&self) -> &'static str {
        "SomeOf"
    }
}
