//! Named pipelines: the finance chapter's imgaug augmentation of the plant seedlings, and the
//! imgaug README's (the same plus an affine warp).

use crate::ops::{
    AdditiveGaussianNoise, Crop, Fliplr, GaussianBlur, LinearContrast, Multiply, RandomAffine,
};
use crate::pipeline::{Sequential, Sometimes};
use crate::{Augmenter, Result};

fn chapter_steps() -> Result<Vec<Box<dyn Augmenter>>> {
    Ok(vec![
        Box::new(Fliplr::new(0.5)?),
        Box::new(Crop::new((0.0, 0.1))?),
        Box::new(Sometimes::new(
            0.5,
            Box::new(GaussianBlur::new((0.0, 0.5))?),
        )?),
        Box::new(LinearContrast::new((0.75, 1.5))?),
        Box::new(AdditiveGaussianNoise::new(0.0, (0.0, 0.05 * 255.0))?.per_channel(0.5)?),
        Box::new(Multiply::new((0.8, 1.2))?.per_channel(0.2)?),
    ])
}

/// The plant-seedlings pipeline of the finance chapter, in random order: `Fliplr(0.5)`,
/// `Crop(percent=(0, 0.1))`, `Sometimes(0.5, GaussianBlur(sigma=(0, 0.5)))`,
/// `ContrastNormalization((0.75, 1.5))`, `AdditiveGaussianNoise(scale=(0, 0.05*255),
/// per_channel=0.5)`, `Multiply((0.8, 1.2), per_channel=0.2)`.
pub fn imgaug_plants() -> Result<Sequential> {
    Ok(Sequential::new(chapter_steps()?).random_order(true))
}

/// The imgaug README's example: [`imgaug_plants`] plus `Affine(scale=(0.8, 1.2),
/// translate_percent=(-0.2, 0.2), rotate=(-25, 25), shear=(-8, 8))`, in random order.
pub fn imgaug_readme() -> Result<Sequential> {
    let mut steps = chapter_steps()?;
    steps.push(Box::new(
        RandomAffine::new()
            .scale((0.8, 1.2))?
            .translate_percent((-0.2, 0.2))?
            .rotate((-25.0, 25.0))?
            .shear((-8.0, 8.0))?,
    ));
    Ok(Sequential::new(steps).random_order(true))
}
