//! Listing a class-folder tree (`DIR/<class>/**/<image>`) in Keras' order.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::options::ImageFolderOptions;
use crate::{Error, Result};

/// One image file and its class index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// Full path of the file.
    pub path: PathBuf,
    /// Index into the class names.
    pub label: usize,
}

/// The classes and files of a folder, in Keras' order: classes sorted by name, files of each
/// class walked with the walk's directories sorted by path and files sorted by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// Class names (subfolder names), in label order.
    pub class_names: Vec<String>,
    /// Every accepted file, grouped by class.
    pub samples: Vec<Sample>,
}

fn key(p: &Path) -> Vec<u8> {
    p.as_os_str().as_encoded_bytes().to_vec()
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<(OsString, PathBuf)>> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut entries = Vec::new();
    for e in rd {
        let e = e.map_err(|e| Error::io(dir, e))?;
        entries.push((e.file_name(), e.path()));
    }
    entries.sort_by(|a, b| a.0.as_encoded_bytes().cmp(b.0.as_encoded_bytes()));
    Ok(entries)
}

fn is_dir(path: &Path, follow_links: bool) -> bool {
    let meta = if follow_links {
        std::fs::metadata(path)
    } else {
        std::fs::symlink_metadata(path)
    };
    meta.map(|m| m.is_dir()).unwrap_or(false)
}

fn has_format(name: &OsString, formats: &[String]) -> bool {
    let lower = name.to_string_lossy().to_lowercase();
    formats.iter().any(|f| lower.ends_with(&format!(".{f}")))
}

/// Files under `dir` as `os.walk` + sort would list them: directories in path order, the
/// files of each in name order.
fn walk_files(dir: &Path, opts: &ImageFolderOptions) -> Result<Vec<PathBuf>> {
    let mut groups: Vec<(PathBuf, Vec<PathBuf>)> = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), 0usize)];
    while let Some((d, depth)) = stack.pop() {
        let mut files = Vec::new();
        for (name, path) in read_dir_sorted(&d)? {
            if is_dir(&path, opts.follow_links) {
                if depth < 64 {
                    stack.push((path, depth + 1));
                }
            } else if has_format(&name, &opts.formats) {
                // Only regular files are images: reading a FIFO named `x.png` would block.
                if std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
                    files.push(path);
                } else {
                    tracing::warn!(path = %path.display(), "skipped: not a regular file");
                }
            }
        }
        groups.push((d, files));
    }
    groups.sort_by_key(|(d, _)| key(d));
    Ok(groups.into_iter().flat_map(|(_, f)| f).collect())
}

/// Lists `dir`'s classes and images. Hidden subfolders (`.ipynb_checkpoints`...) are not
/// classes, as in `image_dataset_from_directory`.
pub fn list_class_folders(dir: &Path, opts: &ImageFolderOptions) -> Result<Listing> {
    if !dir.is_dir() {
        return Err(Error::Missing {
            dataset: "image folder".into(),
            dir: dir.to_path_buf(),
            missing: "the directory itself".into(),
            hint: "give a folder with one subfolder per class".into(),
        });
    }
    let subdirs: Vec<(OsString, PathBuf)> = read_dir_sorted(dir)?
        .into_iter()
        .filter(|(n, p)| !n.as_encoded_bytes().starts_with(b".") && is_dir(p, opts.follow_links))
        .collect();
    let chosen: Vec<(String, PathBuf)> = match &opts.class_names {
        Some(names) => names
            .iter()
            .map(|n| {
                let p = dir.join(n);
                if is_dir(&p, opts.follow_links) {
                    Ok((n.clone(), p))
                } else {
                    Err(Error::option(
                        "image folder",
                        "class_names",
                        format!("class '{n}' has no folder {}", p.display()),
                    ))
                }
            })
            .collect::<Result<_>>()?,
        None => subdirs
            .into_iter()
            .map(|(n, p)| (n.to_string_lossy().into_owned(), p))
            .collect(),
    };
    let mut samples = Vec::new();
    let mut class_names = Vec::new();
    for (label, (name, path)) in chosen.into_iter().enumerate() {
        let files = walk_files(&path, opts)?;
        if files.is_empty() {
            tracing::warn!(class = %name, dir = %path.display(), "class folder has no images");
        }
        samples.extend(files.into_iter().map(|path| Sample { path, label }));
        class_names.push(name);
    }
    Ok(Listing {
        class_names,
        samples,
    })
}
