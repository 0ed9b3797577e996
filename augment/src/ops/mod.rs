//! imgaug-style per-image transforms, one per file.

pub mod additive_gaussian_noise;
pub mod affine;
pub mod background_removal;
pub mod crop;
pub mod flip;
pub mod gaussian_blur;
pub mod linear_contrast;
pub mod lut;
pub mod median_blur;
pub mod multiply;

pub use additive_gaussian_noise::AdditiveGaussianNoise;
pub use affine::RandomAffine;
pub use background_removal::BackgroundRemoval;
pub use crop::Crop;
pub use flip::{Fliplr, Flipud};
pub use gaussian_blur::GaussianBlur;
pub use linear_contrast::LinearContrast;
pub use median_blur::median_blur;
pub use multiply::Multiply;
