//! Fuzz target `keras_archive`: see `convkit_fuzzing::keras_archive`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| convkit_fuzzing::keras_archive(data));
