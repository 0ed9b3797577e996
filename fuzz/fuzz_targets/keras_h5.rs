//! Fuzz target `keras_h5`: see `convkit_fuzzing::keras_h5`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| convkit_fuzzing::keras_h5(data));
