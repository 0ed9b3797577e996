//! Reading a user's file safely: only regular files are read (a FIFO named `x.png` would block
//! the reader forever, a device would never end), and a file larger than the reader's budget is
//! refused before anything is allocated for it. Every reader of user files goes through here,
//! and so do the paths handed to libtorch, which opens files itself.

use std::fs::{File, Metadata, OpenOptions};
use std::io::Read;
use std::path::Path;

use crate::{Error, Result};

/// What a path that is not a regular file is, for messages ("a FIFO", "a directory").
fn kind_of(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    if t.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

fn not_regular(path: &Path, meta: &Metadata) -> Error {
    Error::io(
        path,
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("is {}, not a regular file", kind_of(meta)),
        ),
    )
}

/// Fails unless `path` (following links) is a regular file. For paths given to code that
/// opens them itself (libtorch's safetensors reader).
pub fn check_regular_file(path: &Path) -> Result<Metadata> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_file() {
        Ok(meta)
    } else {
        Err(not_regular(path, &meta))
    }
}

/// Opens `path` for reading if it is a regular file. The open itself never blocks: on Linux it
/// is non-blocking, so a FIFO that appeared after a check is still refused, not waited on.
pub fn open_regular_file(path: &Path) -> Result<(File, Metadata)> {
    check_regular_file(path)?;
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    let file = options.open(path).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(not_regular(path, &meta));
    }
    Ok((file, meta))
}

/// Reads the regular file `path` whole, refusing it unread when it holds more than
/// `max_bytes` (and reading no more than that even if it grows meanwhile).
pub fn read_regular_file(path: &Path, max_bytes: u64) -> Result<Vec<u8>> {
    let (file, meta) = open_regular_file(path)?;
    if meta.len() > max_bytes {
        return Err(Error::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "holds {} bytes, more than the {max_bytes} this reader accepts",
                    meta.len()
                ),
            ),
        ));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(max_bytes)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_and_large_files_are_refused() {
        let dir = std::env::temp_dir().join(format!("convkit-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let e = read_regular_file(&dir, 10).unwrap_err().to_string();
        assert!(e.contains("is a directory, not a regular file"), "{e}");
        let f = dir.join("a.bin");
        std::fs::write(&f, [1u8; 32]).unwrap();
        assert_eq!(read_regular_file(&f, 32).unwrap().len(), 32);
        let e = read_regular_file(&f, 31).unwrap_err().to_string();
        assert!(e.contains("holds 32 bytes, more than the 31"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
