//! Where decoded, resized images are kept between epochs ([`super::DecodedCache`]).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

use convkit_augment::HwcImage;

use super::options::DecodedCache;
use crate::{Error, Result};

const EMPTY: u8 = 0;
const FILLED: u8 = 1;

/// A per-sample store of `(h, w, c)` u8 images.
#[derive(Debug)]
pub enum DecodedStore {
    /// Nothing kept.
    None,
    /// Kept in memory.
    Memory(Vec<OnceLock<Box<[u8]>>>),
    /// Kept in an anonymous temporary file (deleted when dropped).
    Disk {
        /// The file.
        file: File,
        /// Slot states (empty / filled).
        state: Vec<AtomicU8>,
    },
}

impl DecodedStore {
    /// A store for `n` samples.
    pub fn new(kind: &DecodedCache, n: usize) -> Result<Self> {
        Ok(match kind {
            DecodedCache::None => DecodedStore::None,
            DecodedCache::Memory => DecodedStore::Memory((0..n).map(|_| OnceLock::new()).collect()),
            DecodedCache::Disk(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
                let file = tempfile::tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
                DecodedStore::Disk {
                    file,
                    state: (0..n).map(|_| AtomicU8::new(EMPTY)).collect(),
                }
            }
        })
    }

    /// The cached image of sample `i`, if any.
    pub fn get(&self, i: usize, shape: (usize, usize, usize)) -> Option<HwcImage> {
        let (h, w, c) = shape;
        match self {
            DecodedStore::None => None,
            DecodedStore::Memory(slots) => slots[i]
                .get()
                .and_then(|b| HwcImage::new(h, w, c, b.to_vec()).ok()),
            DecodedStore::Disk { file, state } => {
                if state[i].load(Ordering::Acquire) != FILLED {
                    return None;
                }
                let size = h * w * c;
                let mut buf = vec![0u8; size];
                file.read_exact_at(&mut buf, (i * size) as u64).ok()?;
                HwcImage::new(h, w, c, buf).ok()
            }
        }
    }

    /// Keeps `img` for sample `i` (errors are logged and ignored: the cache is an
    /// optimisation).
    pub fn put(&self, i: usize, img: &HwcImage, dir: Option<&Path>) {
        match self {
            DecodedStore::None => {}
            DecodedStore::Memory(slots) => {
                let _ = slots[i].set(img.data().to_vec().into_boxed_slice());
            }
            DecodedStore::Disk { file, state } => {
                let size = img.data().len();
                match file.write_all_at(img.data(), (i * size) as u64) {
                    Ok(()) => state[i].store(FILLED, Ordering::Release),
                    Err(e) => tracing::warn!(
                        dir = ?dir,
                        error = %e,
                        "cannot write the decoded-image cache; decoding again next epoch"
                    ),
                }
            }
        }
    }
}
