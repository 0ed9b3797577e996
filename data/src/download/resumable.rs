//! One large file (a pretrained network's weights) downloaded as Keras' `get_file` does it,
//! and more safely: streamed to `<target>.part` (never all in memory), resumed with an HTTP
//! `Range` request when an earlier run was cut, checked against its MD5 or SHA-256 digest
//! (Keras' `file_hash`: 32 hex digits are MD5, 64 are SHA-256), then renamed into place.
//! A wrong digest removes the partial file; nothing half-written is ever at `target`.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use md5::Md5;
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// A file's expected digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileHash {
    /// MD5, as lowercase hex.
    Md5(String),
    /// SHA-256, as lowercase hex.
    Sha256(String),
}

impl FileHash {
    /// Keras' rule: 64 hex digits are SHA-256, 32 are MD5.
    pub fn parse(hex: &str) -> Result<FileHash> {
        let hex = hex.trim().to_ascii_lowercase();
        let bad = |problem: String| Error::Option {
            what: "download".into(),
            option: "file hash".into(),
            problem,
        };
        if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad(format!("'{hex}' is not hexadecimal")));
        }
        match hex.len() {
            32 => Ok(FileHash::Md5(hex)),
            64 => Ok(FileHash::Sha256(hex)),
            n => Err(bad(format!(
                "'{hex}' has {n} hex digits: MD5 has 32, SHA-256 64"
            ))),
        }
    }

    fn expected(&self) -> &str {
        match self {
            FileHash::Md5(h) | FileHash::Sha256(h) => h,
        }
    }

    fn algorithm(&self) -> &'static str {
        match self {
            FileHash::Md5(_) => "MD5",
            FileHash::Sha256(_) => "SHA-256",
        }
    }

    /// The digest of the file at `path`, read in blocks.
    pub fn of_file(&self, path: &Path) -> Result<String> {
        let digest = match self {
            FileHash::Md5(_) => digest_file::<Md5>(path)?,
            FileHash::Sha256(_) => digest_file::<Sha256>(path)?,
        };
        Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Whether the file at `path` has this digest.
    pub fn matches(&self, path: &Path) -> Result<bool> {
        Ok(self.of_file(path)? == self.expected())
    }
}

/// The `D` digest of the file at `path`, read a mebibyte at a time.
fn digest_file<D: Digest>(path: &Path) -> Result<Vec<u8>> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut buf = vec![0u8; 1 << 20];
    let mut hasher = D::new();
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            return Ok(hasher.finalize().to_vec());
        }
        hasher.update(&buf[..n]);
    }
}

/// `<target>.part`: where a download goes until it is complete and verified.
pub fn partial_path(target: &Path) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    target.with_file_name(name)
}

/// Downloads `url` into `target` unless it is already there with the right digest.
/// `progress(done, total)` is called as bytes arrive (`total` when the server says it).
/// Returns whether anything was downloaded.
pub fn download_file(
    url: &str,
    target: &Path,
    hash: &FileHash,
    timeout: Duration,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<bool> {
    if target.is_file() && hash.matches(target)? {
        tracing::debug!(file = %target.display(), "already present and verified");
        return Ok(false);
    }
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let part = partial_path(target);
    let failed = |problem: String| Error::Download {
        file: target.display().to_string(),
        attempts: format!("{url}: {problem}"),
    };
    let have = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(timeout)
        .timeout_read(timeout)
        .build();
    let mut request = agent.get(url);
    if have > 0 {
        tracing::info!(%url, bytes = have, "resuming a cut download");
        request = request.set("Range", &format!("bytes={have}-"));
    }
    let response = match request.call() {
        Ok(r) => r,
        // The partial file is already the whole file (a cut after the last byte).
        Err(ureq::Error::Status(416, _)) if have > 0 => return finish(url, target, &part, hash),
        Err(e) => return Err(failed(e.to_string())),
    };
    let resumed = response.status() == 206 && content_range_start(&response) == Some(have);
    let length: Option<u64> = response
        .header("Content-Length")
        .and_then(|v| v.parse().ok());
    let total = length.map(|n| if resumed { n + have } else { n });
    let mut out = OpenOptions::new()
        .create(true)
        .write(true)
        .append(resumed)
        .truncate(!resumed)
        .open(&part)
        .map_err(|e| Error::io(&part, e))?;
    let mut done = if resumed { have } else { 0 };
    let mut reader = response.into_reader();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buf).map_err(|e| {
            let of = total.map(|t| format!(" of {t}")).unwrap_or_default();
            failed(format!(
                "cut after {done}{of} bytes ({e}); run again to resume"
            ))
        })?;
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n]).map_err(|e| Error::io(&part, e))?;
        done += n as u64;
        progress(done, total);
    }
    out.sync_all().map_err(|e| Error::io(&part, e))?;
    drop(out);
    if let Some(total) = total.filter(|&t| t != done) {
        return Err(failed(format!(
            "cut after {done} of {total} bytes; run again to resume"
        )));
    }
    finish(url, target, &part, hash)
}

/// Verifies the complete `part` and renames it to `target`; a wrong digest removes it.
fn finish(url: &str, target: &Path, part: &Path, hash: &FileHash) -> Result<bool> {
    let actual = hash.of_file(part)?;
    if actual != hash.expected() {
        let _ = std::fs::remove_file(part);
        return Err(Error::Digest {
            what: format!("{url} ({})", hash.algorithm()),
            expected: hash.expected().to_string(),
            actual,
        });
    }
    std::fs::rename(part, target).map_err(|e| Error::io(target, e))?;
    Ok(true)
}

/// The first byte of a `Content-Range: bytes START-END/TOTAL` header.
fn content_range_start(response: &ureq::Response) -> Option<u64> {
    let value = response.header("Content-Range")?;
    let range = value.trim().strip_prefix("bytes")?.trim();
    range.split('-').next()?.trim().parse().ok()
}
