//! [`DirLock`]: one writer per output folder. Two trainings started on the same `--out` would
//! overwrite each other's checkpoints and backups; the second one refuses to start instead,
//! naming the process that holds the folder.
//!
//! The lock is an advisory `flock` on `<dir>/.convkit.lock`, which holds the holder's PID for
//! messages. The operating system drops it when the holder exits, however it exits, so a
//! killed run never leaves a folder locked.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Name of the lock file inside a locked folder.
pub const LOCK_FILE: &str = ".convkit.lock";

/// Exclusive use of an output folder, held until dropped.
///
/// # Example
/// ```no_run
/// # fn main() -> convkit_tensor::Result<()> {
/// let _lock = convkit_tensor::dir_lock::DirLock::acquire("runs/mnist".as_ref())?;
/// // ... train and save into runs/mnist; a second run on it refuses with this PID ...
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct DirLock {
    file: File,
    path: PathBuf,
}

impl DirLock {
    /// Creates `dir` if needed and locks it, or fails with [`Error::Locked`] naming the PID
    /// of the process holding it.
    pub fn acquire(dir: &Path) -> Result<DirLock> {
        if dir.exists() && !dir.is_dir() {
            let e = std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "exists and is not a directory",
            );
            return Err(Error::io(dir, e));
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(Error::Locked {
                    dir: dir.to_path_buf(),
                    holder: holder.trim().parse().ok(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        let pid = std::process::id().to_string();
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(pid.as_bytes()))
            .and_then(|()| file.flush())
            .map_err(|e| Error::io(&path, e))?;
        Ok(DirLock { file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // The holder's PID goes with the lock; the (empty) file may stay.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_names_the_holder_and_a_dropped_one_frees_the_folder() {
        let dir = std::env::temp_dir().join(format!("convkit-lock-{}", std::process::id()));
        let first = DirLock::acquire(&dir).unwrap();
        let e = DirLock::acquire(&dir).unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(e, Error::Locked { holder: Some(pid), .. } if pid == std::process::id()),
            "{msg}"
        );
        assert!(
            msg.contains(&std::process::id().to_string()) && msg.contains("convkit-lock"),
            "{msg}"
        );
        drop(first);
        let again = DirLock::acquire(&dir).unwrap();
        assert!(again.path().ends_with(LOCK_FILE));
        drop(again);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
