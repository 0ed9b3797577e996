//! [`Sometimes`]: applies a child with probability `p` (and an optional other one otherwise).

use rand::RngCore;

use crate::augmenter::chance;
use crate::error::check_probability;
use crate::{Augmenter, HwcImage, Result};

/// imgaug's `Sometimes(p, then_list, else_list)`.
#[derive(Debug)]
pub struct Sometimes {
    p: f64,
    then: Box<dyn Augmenter>,
    otherwise: Option<Box<dyn Augmenter>>,
}

impl Sometimes {
    /// Applies `then` with probability `p`.
    pub fn new(p: f64, then: Box<dyn Augmenter>) -> Result<Self> {
        check_probability("Sometimes", "p", p)?;
        Ok(Sometimes {
            p,
            then,
            otherwise: None,
        })
    }

    /// Applies `otherwise` when `then` is not applied.
    pub fn otherwise(mut self, otherwise: Box<dyn Augmenter>) -> Self {
        self.otherwise = Some(otherwise);
        self
    }
}

impl Augmenter for Sometimes {
    fn augment(&self, image: HwcImage, rng: &mut dyn RngCore) -> HwcImage {
        if chance(rng, self.p) {
            self.then.augment(image, rng)
        } else if let Some(o) = &self.otherwise {
            o.augment(image, rng)
        } else {
            image
        }
    }
    fn name(&self) -> &'static str {
        "Sometimes"
    }
}
