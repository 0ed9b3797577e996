//! Atomic file writes: write to a temporary sibling, then rename over the target, so that a
//! crash or kill never leaves a half-written checkpoint, cache or model file.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The temporary sibling used while writing `path` (`model.safetensors` ->
/// `.model.safetensors.tmp-<pid>`).
pub fn temp_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Calls `write(tmp)` to produce the file at a temporary path, then renames it to `path`.
/// The temporary file is removed if `write` fails.
pub fn write_atomic<E>(
    path: &Path,
    write: impl FnOnce(&Path) -> std::result::Result<(), E>,
) -> std::result::Result<(), E>
where
    E: From<Error>,
{
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let tmp = temp_sibling(path);
    if let Err(e) = write(&tmp) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    Ok(())
}

/// Writes `bytes` to `path` atomically.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, |tmp| {
        std::fs::write(tmp, bytes).map_err(|e| Error::io(tmp, e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_writes_leave_the_old_file() {
        let dir = std::env::temp_dir().join(format!("convkit-atomic-{}", std::process::id()));
        let p = dir.join("a.txt");
        write_bytes_atomic(&p, b"one").unwrap();
        let r: Result<()> = write_atomic(&p, |tmp| {
            std::fs::write(tmp, b"half").unwrap();
            Err(Error::Invalid("killed".into()))
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        assert!(!temp_sibling(&p).exists());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
