//! Atomic file writes: write to a temporary sibling, then rename over the target, so that a
//! crash or kill never leaves a half-written checkpoint, cache or model file. Directories are
//! replaced as one unit the same way ([`replace_dir`]), and the temporary siblings a killed
//! process left behind are cleaned up by the next one ([`remove_stale_temps`]).

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

/// Moves directory `from` to `to` as one unit, replacing `to` if it exists; the old copy is
/// removed only once the new one is in place.
///
/// On Linux the two directories are exchanged in one atomic `renameat2(RENAME_EXCHANGE)`, so
/// at every instant `to` is either the whole old directory or the whole new one. Elsewhere
/// the old copy is first moved to a hidden sibling (`.<name>.old-<pid>`), which
/// [`remove_stale_temps`] clears if the process dies in between.
pub fn replace_dir(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    if !to.exists() {
        return std::fs::rename(from, to).map_err(|e| Error::io(to, e));
    }
    #[cfg(target_os = "linux")]
    {
        let flags = rustix::fs::RenameFlags::EXCHANGE;
        if rustix::fs::renameat_with(rustix::fs::CWD, from, rustix::fs::CWD, to, flags).is_ok() {
            // `from` now holds the old copy.
            return std::fs::remove_dir_all(from).map_err(|e| Error::io(from, e));
        }
    }
    let old = sibling(to, "old");
    let _ = std::fs::remove_dir_all(&old);
    std::fs::rename(to, &old).map_err(|e| Error::io(to, e))?;
    std::fs::rename(from, to).map_err(|e| Error::io(to, e))?;
    std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))
}

/// `.<name>.<what>-<pid>` next to `path`.
fn sibling(path: &Path, what: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{what}-{}", std::process::id()))
}

/// Removes the temporary siblings (`.<name>.tmp-<pid>`, `.<name>.old-<pid>`) in `dir` that
/// were left by processes no longer running (a run killed mid-save), and returns how many.
///
/// A temporary of a live process (this one included) is kept. Where liveness cannot be told
/// (no `/proc`), only this process's own leftovers are removed.
pub fn remove_stale_temps(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = temp_owner(&name.to_string_lossy()) else {
            continue;
        };
        if pid == std::process::id() || process_is_running(pid) {
            continue;
        }
        let path = entry.path();
        let gone = match entry.file_type() {
            Ok(t) if t.is_dir() => std::fs::remove_dir_all(&path),
            _ => std::fs::remove_file(&path),
        };
        if gone.is_ok() {
            tracing::info!(path = %path.display(), pid, "removed a temporary file left by a killed run");
            removed += 1;
        }
    }
    removed
}

/// The PID in a temporary sibling's name (`.x.tmp-123`, `.x.old-123`).
fn temp_owner(name: &str) -> Option<u32> {
    if !name.starts_with('.') {
        return None;
    }
    let (_, pid) = name
        .rsplit_once(".tmp-")
        .or_else(|| name.rsplit_once(".old-"))?;
    pid.parse().ok()
}

/// Whether a process with this PID runs (unknown counts as running).
fn process_is_running(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
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

    #[test]
    fn temp_owners_are_read_from_names() {
        assert_eq!(temp_owner(".model.safetensors.tmp-123"), Some(123));
        assert_eq!(temp_owner(".epoch-3.tmp-77"), Some(77));
        assert_eq!(temp_owner(".model.old-9"), Some(9));
        assert_eq!(temp_owner("model.safetensors"), None);
        assert_eq!(temp_owner(".hidden"), None);
        assert_eq!(temp_owner(".x.tmp-abc"), None);
    }
}
