//! Image folders (`DIR/<class>/<image>`) with the options of Keras' `flow_from_directory` and
//! `image_dataset_from_directory`: listing, both validation-split rules, three-way (train/validation/test) splits, decoding, the
//! streaming parallel loader and its decoded-image cache.

mod batching;
pub mod decode;
pub mod decoded_store;
mod jpeg_turbo;
pub mod listing;
pub mod loader;
mod nearest_pil;
pub mod options;
mod prefetch;
pub mod split_rules;
pub mod three_way_split;

pub use decode::ImageDecoder;
pub use listing::{list_class_folders, Listing, Sample};
pub use loader::ImageFolder;
pub use options::{
    BadFilePolicy, ColorMode, DecodedCache, ImageFolderOptions, LabelMode, ResizeFilter, SplitRule,
    Subset, ALL_FORMATS,
};
pub use split_rules::split;
pub use three_way_split::{split_three_ways, ListingSplit, ThreeWaySplit};
