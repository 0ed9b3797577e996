//! Rank 0's backup on every rank: data-parallel ranks on other machines cannot read rank 0's
//! disk, so `BackupAndRestore` sends the latest backup's files (weights, optimizer state,
//! training state) from rank 0 to all ranks through the process group, and each other rank
//! restores from its own temporary copy.

use std::path::{Path, PathBuf};

use convkit_tensor::distributed::ProcessGroup;

use crate::{Error, Result};

/// A rank's private copy of rank 0's backup, deleted when dropped.
pub(super) struct BackupCopy {
    dir: PathBuf,
}

impl BackupCopy {
    /// The directory holding the backup's files.
    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for BackupCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The files of `dir` (a backup directory holds files only), as one message.
fn pack(dir: &Path) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::file(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| Error::file(&path, "a backup file without a UTF-8 name"))?;
        let data = std::fs::read(&path).map_err(|e| Error::file(&path, e))?;
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&(data.len() as u64).to_le_bytes());
        out.extend_from_slice(&data);
    }
    Ok(out)
}

/// The first `n` bytes of `rest` and what follows, or `None` when it is shorter.
fn split(rest: &[u8], n: usize) -> Option<(&[u8], &[u8])> {
    (rest.len() >= n).then(|| rest.split_at(n))
}

/// Writes the files of a [`pack`]ed message into the new directory `dir`.
fn unpack(message: &[u8], dir: &Path) -> Result<()> {
    let bad = || Error::file(dir, "the backup received from rank 0 is cut short");
    std::fs::create_dir_all(dir).map_err(|e| Error::file(dir, e))?;
    let mut rest = message;
    while !rest.is_empty() {
        let (len, r) = split(rest, 4).ok_or_else(bad)?;
        let name_len = u32::from_le_bytes(len.try_into().map_err(|_| bad())?) as usize;
        let (name, r) = split(r, name_len).ok_or_else(bad)?;
        let name = std::str::from_utf8(name).map_err(|_| bad())?;
        if name.is_empty() || name.contains(['/', '\\']) || name == ".." {
            return Err(Error::file(
                dir,
                format!("backup file name {name:?} from rank 0"),
            ));
        }
        let (len, r) = split(r, 8).ok_or_else(bad)?;
        let data_len = u64::from_le_bytes(len.try_into().map_err(|_| bad())?);
        let data_len = usize::try_from(data_len).map_err(|_| bad())?;
        let (data, r) = split(r, data_len).ok_or_else(bad)?;
        let path = dir.join(name);
        std::fs::write(&path, data).map_err(|e| Error::file(&path, e))?;
        rest = r;
    }
    Ok(())
}

/// Sends rank 0's `latest` backup (rank 0 passes it, `None` when it has none) to every rank.
/// Rank 0 gets `None` back (it restores from its own directory); another rank gets its copy,
/// or `None` when rank 0 has no backup.
pub(super) fn broadcast_backup(
    group: &ProcessGroup,
    latest: Option<&Path>,
) -> Result<Option<BackupCopy>> {
    let message = match (group.rank(), latest) {
        (0, Some(dir)) => pack(dir)?,
        _ => Vec::new(),
    };
    let received = group
        .broadcast_bytes(&message, 0)
        .map_err(|e| Error::distributed("sending rank 0's backup", e))?;
    if group.rank() == 0 || received.is_empty() {
        return Ok(None);
    }
    let dir = std::env::temp_dir().join(format!(
        "convkit-backup-rank{}-{}",
        group.rank(),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let copy = BackupCopy { dir };
    unpack(&received, copy.dir())?;
    Ok(Some(copy))
}
