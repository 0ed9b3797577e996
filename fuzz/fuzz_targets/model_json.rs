//! Fuzz target `model_json`: see `convkit_fuzzing::model_json`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| convkit_fuzzing::model_json(data));
