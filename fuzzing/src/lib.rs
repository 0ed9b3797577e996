//! The bodies of convkit's fuzz targets: each feeds arbitrary bytes to one parser of user
//! files, the plain-Rust layer in front of libtorch. `fuzz/fuzz_targets/*.rs` call them under
//! libFuzzer (nightly, `scripts/fuzz`); `tests/regressions.rs` replays the kept corpus and every
//! crash found on the stable toolchain in the normal suite. A body may return an error for any
//! input; it must never panic, abort, hang or allocate past the budget it sets.

#![warn(missing_docs)]
// Library code returns errors: no unwrap, expect or panic outside tests (each allow says why).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use std::path::Path;

use convkit_tensor::tch::Device;

/// A fuzz target's body.
pub type Body = fn(&[u8]);

/// The fuzz targets, by name (the folders of `fuzz/corpus/` and `fuzz/regressions/`).
pub const TARGETS: [(&str, Body); 7] = [
    ("idx", idx),
    ("pth", pth),
    ("safetensors", safetensors),
    ("model_json", model_json),
    ("image", image),
    ("keras_h5", keras_h5),
    ("keras_archive", keras_archive),
];

/// Memory budget of a target's allocations (checked by the parsers before they allocate).
pub const FUZZ_MEMORY: u64 = 256 << 20;

/// An IDX file (MNIST), raw or gzip-compressed.
pub fn idx(data: &[u8]) {
    let path = Path::new("fuzz-idx3-ubyte");
    let inflated = convkit_data::idx::inflate_maybe_gz(path, data.to_vec(), FUZZ_MEMORY);
    if let Ok(bytes) = inflated {
        let _ = convkit_data::idx::parse_u8(path, &bytes);
    }
}

/// A `torch.save` file: zip archive, legacy stream, and the pickles inside.
pub fn pth(data: &[u8]) {
    let _ = convkit_tensor::pth::read_raw_state_dict_bytes(data, "fuzz.pth");
}

/// A safetensors header, and its comparison with a model's weights.
pub fn safetensors(data: &[u8]) {
    use convkit_tensor::safetensors_header::{differences, parse_header};
    if let Ok(entries) = parse_header(data, data.len() as u64) {
        let expected = [
            ("dense/kernel".to_owned(), vec![4, 2]),
            ("dense/bias".to_owned(), vec![2]),
        ];
        let _ = differences(&entries, &expected);
    }
}

/// A `model.json` (or its `architecture` entry), rebuilt into a model on the CPU.
pub fn model_json(data: &[u8]) {
    convkit_tensor::memory::set_memory_limit(Some(FUZZ_MEMORY));
    convkit_tensor::threads::set_num_threads(1);
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let arch = json.get("architecture").unwrap_or(&json);
    let _ = convkit_layers::models::model_from_architecture(arch, Device::Cpu);
}

/// An image file of any supported format, through the policy every image goes through, and
/// through the image folders' decoder (libjpeg-turbo for JPEGs, at full and reduced scale).
pub fn image(data: &[u8]) {
    use convkit_data::image_folder::decode::ImageDecoder;
    use convkit_data::image_folder::options::{ColorMode, ResizeFilter};
    let _ = convkit_data::image_file::decode_image(data, 1 << 22);
    for (dct_scaling, filter) in [
        (false, ResizeFilter::Nearest),
        (true, ResizeFilter::Bilinear),
    ] {
        let decoder = ImageDecoder {
            target_size: (12, 10),
            color_mode: ColorMode::Rgb,
            filter,
            max_pixels: 1 << 22,
            dct_scaling,
        };
        let _ = decoder.decode(data);
    }
}

/// The small network the HDF5 seeds hold weights for: `conv2d` (Conv2D 2 filters 3x3 on
/// 1x8x8), `flatten`, `dense` (Dense 3): a Flatten-fed Dense, so its rows are permuted.
pub fn small_network() -> Option<convkit_layers::prelude::Sequential> {
    use convkit_layers::prelude::*;
    let mut m = Sequential::new();
    m.add(Conv2D::new(2, 3).input_shape([1, 8, 8]).named("conv2d"))
        .ok()?;
    m.add(Flatten::new().named("flatten")).ok()?;
    m.add(Dense::new(3).named("dense")).ok()?;
    Some(m)
}

/// An HDF5 file as Keras' weights: the legacy layout (`layer_names`, `weight_names`) and
/// Keras 3's (`layers/<key>/vars/<i>`), into [`small_network`].
pub fn keras_h5(data: &[u8]) {
    let _ = keras_h5_layouts_loaded(data);
}

/// How many of the two layouts of [`keras_h5`] loaded `data` into [`small_network`] (the
/// regression test checks that the corpus reaches the loaders' success paths).
pub fn keras_h5_layouts_loaded(data: &[u8]) -> usize {
    convkit_tensor::memory::set_memory_limit(Some(FUZZ_MEMORY));
    convkit_tensor::threads::set_num_threads(1);
    let origin = Path::new("fuzz.h5");
    let Ok(h5) = convkit_layers::saving::h5::H5Reader::from_bytes(data.to_vec(), origin) else {
        return 0;
    };
    let Some(mut model) = small_network() else {
        return 0;
    };
    use convkit_layers::saving::{import::keras_h5, keras_archive};
    let legacy = keras_h5::load_keras_h5_from(&mut model, &h5).is_ok();
    let keras3 = keras_archive::load_weights_h5(&mut model, &h5).is_ok();
    usize::from(legacy) + usize::from(keras3)
}

/// A `.keras` archive: the zip, `config.json` rebuilt through the layer catalogue, the
/// weights and the compile state, on the CPU.
pub fn keras_archive(data: &[u8]) {
    let _ = keras_archive_loads(data);
}

/// Whether [`keras_archive`] made a model of `data`.
pub fn keras_archive_loads(data: &[u8]) -> bool {
    convkit_tensor::memory::set_memory_limit(Some(FUZZ_MEMORY));
    convkit_tensor::threads::set_num_threads(1);
    use convkit_layers::saving::keras_archive::{archive_from_bytes, model_from_archive};
    let origin = Path::new("fuzz.keras");
    archive_from_bytes(data.to_vec(), origin)
        .and_then(|archive| model_from_archive(archive, origin, Device::Cpu))
        .is_ok()
}
