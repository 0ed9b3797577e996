//! What the CLI tests share: the project venv and the scikit-image photos installed in it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The project venv (`CONVKIT_VENV`, else `.venv` at the repository root).
pub fn venv() -> PathBuf {
    std::env::var_os("CONVKIT_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv"))
}

/// The folder of scikit-image's sample photos (`chelsea.png`, `coffee.png`...) in the venv.
pub fn skimage_photos() -> PathBuf {
    let out = Command::new(venv().join("bin/python"))
        .args([
            "-c",
            "import skimage.data, os; print(os.path.dirname(skimage.data.__file__))",
        ])
        .output()
        .expect("the project venv's python (scripts/test installs scikit-image)");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}
