//! Compiles `shim/c10d_shim.cpp` against the libtorch torch-sys links (its headers sit next
//! to its `lib/`) and Gloo's headers (Debian's `libgloo-dev`: headers only, Gloo itself is
//! inside `libtorch_cpu.so`), and links libtorch as every convkit package does
//! (`build-support/link_libtorch.rs`).
#![allow(clippy::print_stdout)] // a build script talks to cargo through stdout

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=shim/c10d_shim.cpp");
    println!("cargo:rerun-if-changed=shim/c10d_absent.c");
    println!("cargo:rerun-if-env-changed=GLOO_INCLUDE_DIR");
    let Some(lib) = std::env::var_os("DEP_TCH_LIBTORCH_LIB").map(PathBuf::from) else {
        println!("cargo:warning=torch-sys did not say where libtorch is (DEP_TCH_LIBTORCH_LIB)");
        std::process::exit(1);
    };
    let include = lib.parent().map(|p| p.join("include")).unwrap_or_default();
    let gloo = std::env::var_os("GLOO_INCLUDE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/include"));
    println!(
        "cargo:rerun-if-changed={}",
        gloo.join("gloo/config.h").display()
    );
    if gloo.join("gloo/config.h").is_file() {
        compile_gloo_shim(&include, &gloo);
    } else {
        // Everything else builds and runs; joining a group says what to install.
        println!(
            "cargo:warning=Gloo's headers are missing ({}/gloo/config.h): convkit builds \
             without distributed training; install Debian's libgloo-dev (scripts/bootstrap.sh \
             does) or set GLOO_INCLUDE_DIR, then rebuild",
            gloo.display()
        );
        cc::Build::new()
            .file("shim/c10d_absent.c")
            .compile("convkit_c10d_shim");
    }
    link_libtorch(&lib);
}

/// The C++ shim over c10d's TCPStore and ProcessGroupGloo.
fn compile_gloo_shim(include: &Path, gloo: &Path) {
    cc::Build::new()
        .cpp(true)
        .file("shim/c10d_shim.cpp")
        .include(include)
        .include(include.join("torch/csrc/api/include"))
        .include(gloo)
        .define("USE_C10D_GLOO", None)
        .define("_GLIBCXX_USE_CXX11_ABI", "1")
        .flag("-std=c++17")
        .flag("-w")
        .compile("convkit_c10d_shim");
}

/// Links libtorch as every convkit package does (`build-support/link_libtorch.rs`).
fn link_libtorch(lib: &Path) {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch");
    }
    println!("cargo:rustc-link-search=native={}", lib.display());
    println!("cargo:rustc-link-lib=dylib=torch_cpu");
    println!("cargo:rustc-link-lib=dylib=c10");
}
