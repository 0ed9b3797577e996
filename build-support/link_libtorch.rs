//! Shared build script of every convkit package that links libtorch (tests, benches, binaries).
//!
//! torch-sys links `torch_cuda` only when it exists, and the linker's `--as-needed` then drops
//! it because nothing references it directly, so CUDA would never be available (tch-rs issues
//! 177 and 907). Like tch's own `build.rs`, we force `libtorch.so` into the NEEDED list with
//! `--no-as-needed` (the wheel's `libtorch.so` depends on `libtorch_cuda.so`) and embed an
//! rpath to the libtorch directory so binaries run without `LD_LIBRARY_PATH`.
#![allow(clippy::print_stdout)] // a build script talks to cargo through stdout

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" {
        if let Some(lib_path) = std::env::var_os("DEP_TCH_LIBTORCH_LIB") {
            println!(
                "cargo:rustc-link-arg=-Wl,-rpath,{}",
                lib_path.to_string_lossy()
            );
        }
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch");
    }
}
