//! Compiles `shim/c10d_shim.cpp` against the libtorch torch-sys links (its headers sit next
//! to its `lib/`) and Gloo's headers (Debian's `libgloo-dev`: headers only, Gloo itself is
//! inside `libtorch_cpu.so`), and links libtorch as every convkit package does
//! (`build-support/link_libtorch.rs`).
#![allow(clippy::print_stdout)] // a build script talks to cargo through stdout

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=shim/c10d_shim.cpp");
    println!("cargo:rerun-if-changed=shim/c10d_absent.c");
    println!("cargo:rerun-if-changed=shim/c10d_group.hpp");
    println!("cargo:rerun-if-changed=shim/c10d_nccl.cpp");
    println!("cargo:rerun-if-env-changed=NCCL_INCLUDE_DIR");
    println!("cargo:rerun-if-env-changed=CUDA_INCLUDE_DIRS");
    println!("cargo::rustc-check-cfg=cfg(convkit_nccl)");
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
        // NCCL's part first: it uses the Gloo shim's store, and the linker reads static
        // libraries in order.
        match nccl_includes(&lib) {
            Ok(dirs) => {
                compile_nccl_shim(&include, &dirs);
                println!("cargo:rustc-cfg=convkit_nccl");
            }
            // A CPU-only libtorch, or NCCL's or CUDA's headers missing: Gloo only.
            Err(why) => println!("cargo:warning=building without NCCL: {why}"),
        }
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

/// Include folders NCCL's process group needs, from the torch wheel's neighbours in
/// site-packages (`nvidia/nccl`, `nvidia/cu*/include` with CUDA's runtime and, from the
/// `nvidia-cuda-cccl` wheel, `nv/target`, and triton's `crt/host_config.h`), or
/// `NCCL_INCLUDE_DIR` and `CUDA_INCLUDE_DIRS` (colon-separated); why not when absent.
fn nccl_includes(lib: &Path) -> Result<Vec<PathBuf>, String> {
    if !lib.join("libtorch_cuda.so").is_file() {
        return Err(format!(
            "{} holds no libtorch_cuda.so (a CPU-only libtorch)",
            lib.display()
        ));
    }
    let site = lib
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(d) = std::env::var_os("NCCL_INCLUDE_DIR") {
        dirs.push(PathBuf::from(d));
    }
    if let Some(ds) = std::env::var_os("CUDA_INCLUDE_DIRS") {
        dirs.extend(std::env::split_paths(&ds));
    }
    dirs.push(site.join("nvidia/nccl/include"));
    if let Ok(entries) = std::fs::read_dir(site.join("nvidia")) {
        let mut cu: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path().join("include")))
            .filter(|p| p.join("cuda_runtime_api.h").is_file())
            .collect();
        cu.sort();
        dirs.extend(cu);
    }
    dirs.push(site.join("triton/backends/nvidia/include"));
    dirs.push(PathBuf::from("/usr/local/cuda/include"));
    for (header, from) in [
        ("nccl.h", "the nvidia-nccl wheel"),
        ("cuda_runtime_api.h", "the nvidia-cuda-runtime wheel"),
        (
            "nv/target",
            "the nvidia-cuda-cccl wheel (pip install nvidia-cuda-cccl)",
        ),
        ("crt/host_config.h", "triton or the nvidia-cuda-nvcc wheel"),
    ] {
        if !dirs.iter().any(|d| d.join(header).exists()) {
            return Err(format!("{header} not found (it comes with {from})"));
        }
    }
    dirs.retain(|d| d.is_dir());
    Ok(dirs)
}

/// NCCL's process group (`shim/c10d_nccl.cpp`), linked against libtorch_cuda.
fn compile_nccl_shim(include: &Path, dirs: &[PathBuf]) {
    let mut build = cc::Build::new();
    build
        .cpp(true)
        .file("shim/c10d_nccl.cpp")
        .include(include)
        .include(include.join("torch/csrc/api/include"));
    for d in dirs {
        build.include(d);
    }
    build
        .define("USE_C10D_NCCL", None)
        .define("USE_CUDA", None)
        .define("_GLIBCXX_USE_CXX11_ABI", "1")
        .flag("-std=c++17")
        .flag("-w")
        .compile("convkit_c10d_nccl");
    println!("cargo:rustc-link-lib=dylib=torch_cuda");
    println!("cargo:rustc-link-lib=dylib=c10_cuda");
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
