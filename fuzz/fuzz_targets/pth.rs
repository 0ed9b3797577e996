//! Fuzz target `pth`: see `convkit_fuzzing::pth`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| convkit_fuzzing::pth(data));
