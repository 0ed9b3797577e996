//! Fuzz target `idx`: see `convkit_fuzzing::idx`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| convkit_fuzzing::idx(data));
