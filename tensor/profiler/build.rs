//! Compiles `shim/op_timer.cpp` against the headers of the libtorch torch-sys links (they sit
//! next to its `lib/`) and links libtorch as every convkit package does.
#![allow(clippy::print_stdout)] // a build script talks to cargo through stdout

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=shim/op_timer.cpp");
    let Some(lib) = std::env::var_os("DEP_TCH_LIBTORCH_LIB").map(PathBuf::from) else {
        println!("cargo:warning=torch-sys did not say where libtorch is (DEP_TCH_LIBTORCH_LIB)");
        std::process::exit(1);
    };
    let include = lib.parent().map(|p| p.join("include")).unwrap_or_default();
    cc::Build::new()
        .cpp(true)
        .file("shim/op_timer.cpp")
        .include(&include)
        .define("_GLIBCXX_USE_CXX11_ABI", "1")
        .flag("-std=c++17")
        .flag("-w")
        .compile("convkit_op_timer");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch");
    }
    println!("cargo:rustc-link-search=native={}", lib.display());
    println!("cargo:rustc-link-lib=dylib=torch_cpu");
    println!("cargo:rustc-link-lib=dylib=c10");
}
