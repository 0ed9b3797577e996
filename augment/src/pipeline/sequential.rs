//! [`Sequential`]: applies its children one after the other, optionally in random order.

use rand::RngCore;

use crate::augmenter::index;
use crate::{Augmenter, HwcImage};

/// Runs every child in turn (imgaug's `Sequential`); with `random_order`, in an order drawn
/// per image.
///
/// # Example
/// ```
/// use convkit_augment::{ops::{Fliplr, GaussianBlur}, pipeline::Sequential};
/// let seq = Sequential::new(vec![
///     Box::new(Fliplr::new(0.5).unwrap()),
///     Box::new(GaussianBlur::new((0.0, 1.0)).unwrap()),
/// ]);
/// ```
#[derive(Debug)]
pub struct Sequential {
    children: Vec<Box<dyn Augmenter>>,
    random_order: bool,
}

impl Sequential {
    /// Children in the order given.
    pub fn new(children: Vec<Box<dyn Augmenter>>) -> Self {
        Sequential {
            children,
            random_order: false,
        }
    }

    /// Shuffles the order of the children for every image.
    pub fn random_order(mut self, yes: bool) -> Self {
        self.random_order = yes;
        self
    }
}

/// A random permutation of `0..n` (Fisher-Yates).
pub(crate) fn permutation(n: usize, rng: &mut dyn RngCore) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, index(rng, i + 1));
    }
    order
}

impl Augmenter for Sequential {
    fn augment(&self, mut image: HwcImage, rng: &mut dyn RngCore) -> HwcImage {
        if self.random_order {
            for i in permutation(self.children.len(), rng) {
                image = self.children[i].augment(image, rng);
            }
        } else {
            for child in &self.children {
                image = child.augment(image, rng);
            }
        }
        image
    }
    fn name(&self) -> &'static str {
        "Sequential"
    }
    /// The product of the children's rescale factors (an `ImageDataGenerator` in the
    /// pipeline keeps its `rescale`).
    fn rescale(&self) -> Option<f32> {
        self.children
            .iter()
            .filter_map(|c| c.rescale())
            .reduce(|a, b| a * b)
    }
}
