//! [`ImageFolderOptions`]: the options of Keras' `flow_from_directory` and
//! `image_dataset_from_directory`, with presets for each.

use std::path::PathBuf;
use std::sync::Arc;

use convkit_augment::Augmenter;

use crate::{Error, Result};

/// Channels of the decoded images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorMode {
    /// 3 channels (gray images are replicated, alpha dropped, CMYK converted).
    Rgb,
    /// 1 channel (luminance).
    Grayscale,
    /// 4 channels.
    Rgba,
}

impl ColorMode {
    /// Number of channels.
    pub fn channels(self) -> usize {
        match self {
            ColorMode::Rgb => 3,
            ColorMode::Grayscale => 1,
            ColorMode::Rgba => 4,
        }
    }

    /// Parses Keras' names (`rgb`, `grayscale`, `rgba`).
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "rgb" => Ok(ColorMode::Rgb),
            "grayscale" => Ok(ColorMode::Grayscale),
            "rgba" => Ok(ColorMode::Rgba),
            _ => Err(Error::option(
                "image folder",
                "color_mode",
                format!("must be rgb, grayscale or rgba, got '{name}'"),
            )),
        }
    }
}

/// Form of the targets (Keras' `class_mode` / `label_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelMode {
    /// `(N, 1)` float 0/1 (two classes).
    Binary,
    /// `(N, classes)` one-hot float rows.
    Categorical,
    /// `(N,)` int64 class indices (Keras' `sparse` / `int`).
    Sparse,
    /// No labels: `(N, 0)` targets (for `predict`).
    None,
}

impl LabelMode {
    /// Parses Keras' names: `binary`, `categorical`, `sparse` or `int`, `none`.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "binary" => Ok(LabelMode::Binary),
            "categorical" => Ok(LabelMode::Categorical),
            "sparse" | "int" => Ok(LabelMode::Sparse),
            "none" | "input" => Ok(LabelMode::None),
            _ => Err(Error::option(
                "image folder",
                "label_mode",
                format!("must be binary, categorical, sparse (int) or none, got '{name}'"),
            )),
        }
    }
}

/// Resampling filter of the resize to the target size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResizeFilter {
    /// Nearest neighbour (`flow_from_directory`'s default).
    Nearest,
    /// Bilinear with antialiasing (`image_dataset_from_directory`'s default).
    Bilinear,
    /// Bicubic (Catmull-Rom).
    Bicubic,
    /// Area averaging (box filter).
    Area,
    /// Lanczos-3.
    Lanczos,
}

impl ResizeFilter {
    /// Parses Keras' names (`nearest`, `bilinear`, `bicubic`, `area`, `lanczos3`/`lanczos`).
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "nearest" => Ok(ResizeFilter::Nearest),
            "bilinear" => Ok(ResizeFilter::Bilinear),
            "bicubic" => Ok(ResizeFilter::Bicubic),
            "area" | "box" => Ok(ResizeFilter::Area),
            "lanczos" | "lanczos3" => Ok(ResizeFilter::Lanczos),
            _ => Err(Error::option(
                "image folder",
                "interpolation",
                format!("must be nearest, bilinear, bicubic, area or lanczos, got '{name}'"),
            )),
        }
    }
}

/// Which subset of a split to serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subset {
    /// The training part.
    Training,
    /// The validation part.
    Validation,
}

/// Which of Keras' two validation-split rules to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitRule {
    /// `ImageDataGenerator.flow_from_directory`: the first `fraction` of each class's sorted
    /// files is validation, the rest training.
    FlowFromDirectory,
    /// `image_dataset_from_directory`: all files shuffled with numpy's `RandomState(seed)`,
    /// the last `fraction` is validation.
    DatasetFromDirectory,
}

/// What to do with a file that cannot be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BadFilePolicy {
    /// Skip it with one warning naming the file (the batch is one sample shorter).
    #[default]
    Skip,
    /// Fail the epoch with an error naming the file.
    Error,
}

/// Keeps decoded, resized images so later epochs skip decoding.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DecodedCache {
    /// Decode every epoch.
    #[default]
    None,
    /// Keep them in memory (`N * H * W * C` bytes).
    Memory,
    /// Keep them in one file in this directory (read back through the page cache, so the
    /// loader's resident memory stays small whatever the dataset size).
    Disk(PathBuf),
}

/// Options of an [`super::ImageFolder`]. Start from [`ImageFolderOptions::flow_from_directory`]
/// or [`ImageFolderOptions::image_dataset_from_directory`] for Keras' defaults.
#[derive(Debug, Clone)]
pub struct ImageFolderOptions {
    /// `(height, width)` every image is resized to.
    pub target_size: (usize, usize),
    /// Channels of the images.
    pub color_mode: ColorMode,
    /// Form of the targets.
    pub label_mode: LabelMode,
    /// Samples per batch.
    pub batch_size: usize,
    /// Whether to reshuffle each epoch (from the seed and the epoch number).
    pub shuffle: bool,
    /// Seed of shuffling, augmentation and the `DatasetFromDirectory` split; `None` uses
    /// convkit's global seed (`--seed`).
    pub seed: Option<u64>,
    /// `(fraction, subset, rule)` to serve part of the folder.
    pub validation_split: Option<(f64, Subset, SplitRule)>,
    /// Resize filter.
    pub interpolation: ResizeFilter,
    /// Accepted file extensions (lower case, without dot).
    pub formats: Vec<String>,
    /// Explicit class list (subfolder names, in label order); `None` = sorted subfolders.
    pub class_names: Option<Vec<String>>,
    /// Follow symbolic links while listing.
    pub follow_links: bool,
    /// Images with more pixels than this are refused (decompression bombs); PIL's limit.
    pub max_pixels: u64,
    /// Decode JPEGs at a reduced scale where the target allows (PIL's `draft()`; off by
    /// default: see [`ImageDecoder::dct_scaling`](super::decode::ImageDecoder::dct_scaling)).
    pub dct_scaling: bool,
    /// What to do with undecodable files.
    pub bad_files: BadFilePolicy,
    /// Worker threads decoding and augmenting (0 = libtorch's thread count).
    pub threads: usize,
    /// Batches prepared ahead of the consumer.
    pub prefetch: usize,
    /// Per-image augmentation, run on the worker threads.
    pub augment: Option<Arc<dyn Augmenter>>,
    /// Factor applied when the u8 images become floats (`1/255`); `None` keeps 0..255.
    pub rescale: Option<f32>,
    /// Cache of decoded, resized images.
    pub cache: DecodedCache,
    /// Times each image is served per epoch, each time with its own augmentation (Keras'
    /// `steps_per_epoch` larger than the dataset with an augmenting generator).
    pub repeat: usize,
}

/// The formats convkit decodes.
pub const ALL_FORMATS: [&str; 9] = [
    "jpg", "jpeg", "png", "bmp", "gif", "webp", "tif", "tiff", "ppm",
];

impl ImageFolderOptions {
    /// Keras' `flow_from_directory` defaults: 256x256, rgb, categorical, batch 32, shuffled,
    /// nearest resize.
    pub fn flow_from_directory() -> Self {
        ImageFolderOptions {
            target_size: (256, 256),
            color_mode: ColorMode::Rgb,
            label_mode: LabelMode::Categorical,
            batch_size: 32,
            shuffle: true,
            seed: None,
            validation_split: None,
            interpolation: ResizeFilter::Nearest,
            formats: ALL_FORMATS.iter().map(|s| s.to_string()).collect(),
            class_names: None,
            follow_links: false,
            max_pixels: 2 * 89_478_485,
            dct_scaling: false,
            bad_files: BadFilePolicy::Skip,
            threads: 0,
            prefetch: 4,
            augment: None,
            rescale: None,
            cache: DecodedCache::None,
            repeat: 1,
        }
    }

    /// Keras' `image_dataset_from_directory` defaults: 256x256, rgb, sparse (`int`) labels,
    /// batch 32, shuffled, bilinear resize.
    pub fn image_dataset_from_directory() -> Self {
        ImageFolderOptions {
            label_mode: LabelMode::Sparse,
            interpolation: ResizeFilter::Bilinear,
            ..Self::flow_from_directory()
        }
    }

    /// Sets the target size `(height, width)`.
    pub fn target_size(mut self, height: usize, width: usize) -> Self {
        self.target_size = (height, width);
        self
    }

    /// Sets the batch size.
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Sets the label mode.
    pub fn label_mode(mut self, mode: LabelMode) -> Self {
        self.label_mode = mode;
        self
    }

    /// Sets the colour mode.
    pub fn color_mode(mut self, mode: ColorMode) -> Self {
        self.color_mode = mode;
        self
    }

    /// Sets shuffling.
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Serves `subset` of a `fraction` validation split under `rule`.
    pub fn validation_split(mut self, fraction: f64, subset: Subset, rule: SplitRule) -> Self {
        self.validation_split = Some((fraction, subset, rule));
        self
    }

    /// Sets the resize filter.
    pub fn interpolation(mut self, filter: ResizeFilter) -> Self {
        self.interpolation = filter;
        self
    }

    /// Decodes JPEGs at 1/2, 1/4 or 1/8 scale in the IDCT when the picture stays at least the
    /// target size: faster, at the price of pixels that are no longer Keras' own.
    pub fn dct_scaling(mut self, on: bool) -> Self {
        self.dct_scaling = on;
        self
    }

    /// Sets the worker thread count.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Sets the per-image augmentation.
    pub fn augment(mut self, augment: Arc<dyn Augmenter>) -> Self {
        self.augment = Some(augment);
        self
    }

    /// Sets the rescale factor.
    pub fn rescale(mut self, factor: f32) -> Self {
        self.rescale = Some(factor);
        self
    }

    /// Sets the decoded-image cache.
    pub fn cache(mut self, cache: DecodedCache) -> Self {
        self.cache = cache;
        self
    }

    /// Serves each image `times` per epoch (with a fresh augmentation each time).
    pub fn repeat(mut self, times: usize) -> Self {
        self.repeat = times.max(1);
        self
    }

    /// Sets the bad-file policy.
    pub fn bad_files(mut self, policy: BadFilePolicy) -> Self {
        self.bad_files = policy;
        self
    }

    /// Sets the accepted extensions.
    pub fn formats(mut self, formats: &[&str]) -> Self {
        self.formats = formats
            .iter()
            .map(|f| f.trim_start_matches('.').to_lowercase())
            .collect();
        self
    }

    /// Checks every option.
    pub fn validate(&self) -> Result<()> {
        let what = "image folder";
        if self.target_size.0 == 0 || self.target_size.1 == 0 {
            return Err(Error::option(
                what,
                "target_size",
                format!("must be positive, got {:?}", self.target_size),
            ));
        }
        if self.batch_size == 0 {
            return Err(Error::option(what, "batch_size", "must be at least 1"));
        }
        if let Some((f, _, _)) = self.validation_split {
            if !(f > 0.0 && f < 1.0) {
                return Err(Error::option(
                    what,
                    "validation_split",
                    format!("must lie strictly between 0 and 1, got {f}"),
                ));
            }
        }
        if self.formats.is_empty() {
            return Err(Error::option(
                what,
                "formats",
                "needs at least one extension",
            ));
        }
        let from_augmenter = self.augment.as_ref().and_then(|a| a.rescale());
        if let (Some(here), Some(there)) = (self.rescale, from_augmenter) {
            return Err(Error::option(
                what,
                "rescale",
                format!(
                    "set twice: {here} in the folder options and {there} in the augmenter \
                     (ImageDataGenerator's rescale); set it in one place"
                ),
            ));
        }
        Ok(())
    }

    /// The factor applied when images become floats: the folder's `rescale`, else the
    /// augmenter's (Keras' `ImageDataGenerator(rescale=...)`), else 1.
    pub fn effective_rescale(&self) -> Option<f32> {
        self.rescale
            .or_else(|| self.augment.as_ref().and_then(|a| a.rescale()))
    }
}
