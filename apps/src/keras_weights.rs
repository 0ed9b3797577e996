//! Keras' official ImageNet weight files: where `keras.applications` downloads them from
//! and their digests, as written in Keras 3.15.1's `keras/src/applications/{vgg16,
//! xception,resnet}.py`. `convkit fetch NAME` puts them in `$CONVKIT_DATA/weights`, and a base's
//! `--weights` defaults to the fetched file when it is there.

use std::path::{Path, PathBuf};

/// Keras' download root (`https://storage.googleapis.com/tensorflow/keras-applications/`).
pub const KERAS_APPLICATIONS_URL: &str =
    "https://storage.googleapis.com/tensorflow/keras-applications";

/// One of Keras' weight files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KerasWeights {
    /// The name `convkit fetch` takes (`vgg16-notop`).
    pub name: &'static str,
    /// The application (`vgg16`, `xception`, `resnet50`).
    pub base: &'static str,
    /// Whether the file has the ImageNet classifier.
    pub include_top: bool,
    /// The path under [`KERAS_APPLICATIONS_URL`] (`vgg16/vgg16_weights_tf_..._notop.h5`).
    pub path: &'static str,
    /// Keras' `file_hash` (MD5 here; 64 hex digits would be SHA-256).
    pub hash: &'static str,
}

impl KerasWeights {
    /// The file's name (`vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5`).
    pub fn file_name(&self) -> &'static str {
        self.path.rsplit('/').next().unwrap_or(self.path)
    }

    /// Its URL under `base_url` (Keras' own, or a mirror with the same paths).
    pub fn url(&self, base_url: &str) -> String {
        format!("{}/{}", base_url.trim_end_matches('/'), self.path)
    }

    /// Where `convkit fetch` puts it.
    pub fn target(&self, data_dir: &Path) -> PathBuf {
        weights_dir(data_dir).join(self.file_name())
    }
}

/// Every file `convkit fetch` knows.
pub const KERAS_WEIGHTS: [KerasWeights; 6] = [
    KerasWeights {
        name: "vgg16",
        base: "vgg16",
        include_top: true,
        path: "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels.h5",
        hash: "64373286793e3c8b2b4e3219cbf3544b",
    },
    KerasWeights {
        name: "vgg16-notop",
        base: "vgg16",
        include_top: false,
        path: "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
        hash: "6d6bbae143d832006294945121d1f1fc",
    },
    KerasWeights {
        name: "xception",
        base: "xception",
        include_top: true,
        path: "xception/xception_weights_tf_dim_ordering_tf_kernels.h5",
        hash: "0a58e3b7378bc2990ea3b43d5981f1f6",
    },
    KerasWeights {
        name: "xception-notop",
        base: "xception",
        include_top: false,
        path: "xception/xception_weights_tf_dim_ordering_tf_kernels_notop.h5",
        hash: "b0042744bf5b25fce3cb969f33bebb97",
    },
    KerasWeights {
        name: "resnet50",
        base: "resnet50",
        include_top: true,
        path: "resnet/resnet50_weights_tf_dim_ordering_tf_kernels.h5",
        hash: "2cb95161c43110f7111970584f804107",
    },
    KerasWeights {
        name: "resnet50-notop",
        base: "resnet50",
        include_top: false,
        path: "resnet/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
        hash: "4d473c1dd8becc155b73f8504c6f6626",
    },
];

/// The file named `name` (`vgg16`, `xception-notop`...).
pub fn find(name: &str) -> Option<&'static KerasWeights> {
    KERAS_WEIGHTS.iter().find(|w| w.name == name)
}

/// `$CONVKIT_DATA/weights`.
pub fn weights_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("weights")
}

/// The fetched file of application `base` in `data_dir`, if there is one: the one with the
/// top when `include_top`, else the one without (or, failing that, the one with: its base
/// layers are the same).
pub fn fetched(data_dir: &Path, base: &str, include_top: bool) -> Option<PathBuf> {
    let mut candidates: Vec<&KerasWeights> =
        KERAS_WEIGHTS.iter().filter(|w| w.base == base).collect();
    candidates.sort_by_key(|w| w.include_top != include_top);
    candidates
        .into_iter()
        .filter(|w| include_top <= w.include_top)
        .map(|w| w.target(data_dir))
        .find(|p| p.is_file())
}
