//! Fuzz target `safetensors`: see `convkit_fuzzing::safetensors`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| convkit_fuzzing::safetensors(data));
