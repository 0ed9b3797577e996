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
pub const TARGETS: [(&str, Body); 5] = [
    ("idx", idx),
    ("pth", pth),
    ("safetensors", safetensors),
    ("model_json", model_json),
    ("image", image),
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

/// An image file of any supported format, through the policy every image goes through.
pub fn image(data: &[u8]) {
    let _ = convkit_data::image_file::decode_image(data, 1 << 22);
}
