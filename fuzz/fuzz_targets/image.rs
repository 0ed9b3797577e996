//! Fuzz target `image`: see `convkit_fuzzing::image`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| convkit_fuzzing::image(data));
