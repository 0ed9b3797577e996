//! [`OneOf`]: applies exactly one child, chosen uniformly per image.

use rand::RngCore;

use crate::augmenter::index;
use crate::{Augmenter, Error, HwcImage, Result};

/// imgaug's `OneOf`.
#[derive(Debug)]
pub struct OneOf {
    children: Vec<Box<dyn Augmenter>>,
}

impl OneOf {
    /// Picks one of `children` (at least one) per image.
    pub fn new(children: Vec<Box<dyn Augmenter>>) -> Result<Self> {
        if children.is_empty() {
            return Err(Error::InvalidOption {
                transform: "OneOf",
                option: "children",
                problem: "needs at least one augmenter".into(),
            });
        }
        Ok(OneOf { children })
    }
}

impl Augmenter for OneOf {
    fn augment(&self, image: HwcImage, rng: &mut dyn RngCore) -> HwcImage {
        let i = index(rng, self.children.len());
        self.children[i].augment(image, rng)
    }
    fn name(&self) -> &'static str {
        "OneOf"
    }
}
