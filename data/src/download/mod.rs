//! Downloads with mirrors, MD5 verification and atomic writes; large files streamed to
//! disk and resumed after a cut ([`resumable`]).

pub mod resumable;

pub use resumable::{download_file, FileHash};

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use crate::idx::read_maybe_gz;
use crate::mnist::{md5_hex, CANONICAL_MD5, MIRRORS};
use crate::{Error, Result};

/// Fetches `url` into memory.
pub fn fetch(url: &str, timeout: Duration) -> std::result::Result<Vec<u8>, String> {
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(timeout)
        .timeout_read(timeout * 6)
        .build();
    let resp = agent.get(url).call().map_err(|e| e.to_string())?;
    let mut body = Vec::new();
    resp.into_reader()
        .take(512 << 20)
        .read_to_end(&mut body)
        .map_err(|e| e.to_string())?;
    Ok(body)
}

/// Downloads `<mirror>/<name>.gz` for each `(name, md5)` into `dir/<name>` (uncompressed),
/// trying the mirrors in order and checking the MD5 of the uncompressed content. Files
/// already present with the right digest are not downloaded again. Each file is written
/// through a temporary file and a rename.
pub fn download_verified(
    dir: &Path,
    files: &[(&str, &str)],
    mirrors: &[&str],
    timeout: Duration,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    for (name, expected) in files {
        let target = dir.join(name);
        if target.is_file() && md5_hex(&read_maybe_gz(&target)?) == *expected {
            tracing::debug!(file = %target.display(), "already present and verified");
            continue;
        }
        let mut attempts = Vec::new();
        let mut done = false;
        for mirror in mirrors {
            let url = format!("{}/{name}.gz", mirror.trim_end_matches('/'));
            tracing::info!(%url, "downloading");
            let body = match fetch(&url, timeout) {
                Ok(b) => b,
                Err(e) if e.contains(&url) => {
                    attempts.push(e);
                    continue;
                }
                Err(e) => {
                    attempts.push(format!("{url}: {e}"));
                    continue;
                }
            };
            let tmp = convkit_tensor::atomic::temp_sibling(&target);
            std::fs::write(&tmp, &body).map_err(|e| Error::io(&tmp, e))?;
            let content = read_maybe_gz(&tmp);
            let _ = std::fs::remove_file(&tmp);
            let content = match content {
                Ok(c) => c,
                Err(e) => {
                    attempts.push(format!("{url}: {e}"));
                    continue;
                }
            };
            let actual = md5_hex(&content);
            if actual != *expected {
                attempts.push(
                    Error::Digest {
                        what: url,
                        expected: expected.to_string(),
                        actual,
                    }
                    .to_string(),
                );
                continue;
            }
            convkit_tensor::atomic::write_bytes_atomic(&target, &content)?;
            done = true;
            break;
        }
        if !done {
            return Err(Error::Download {
                file: name.to_string(),
                attempts: attempts.join("; "),
            });
        }
    }
    Ok(())
}

/// Downloads the canonical MNIST files into `dir` from the standard mirrors.
pub fn download_mnist(dir: &Path) -> Result<()> {
    download_verified(dir, &CANONICAL_MD5, &MIRRORS, Duration::from_secs(15))
}
