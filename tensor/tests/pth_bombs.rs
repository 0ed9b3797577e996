//! Decompression bombs in a zip `.pth`: every archive member is read against a budget (the
//! size its storage declares in the pickle, or the reader's limit for `data.pkl`) before it
//! is inflated. The archives are rebuilt here from `tests/fixtures/pth/tiny_zip.pth` (written
//! by `scripts/make_pth_fixtures.py`), with one member replaced by deflated zeros.

use std::io::{Cursor, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use convkit_tensor::pth::{read_raw_state_dict_bytes, PthError};
use zip::write::SimpleFileOptions;

fn tiny_zip() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pth/tiny_zip.pth");
    std::fs::read(path).unwrap()
}

/// The archive's members, in order.
fn members(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut f = archive.by_index(i).unwrap();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            (f.name().to_owned(), data)
        })
        .collect()
}

/// Rewrites the archive with every member deflated, `replace` choosing new contents by name.
fn rebuild(bytes: &[u8], replace: impl Fn(&str, Vec<u8>) -> Vec<u8>) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    for (name, data) in members(bytes) {
        out.start_file(name.as_str(), options).unwrap();
        out.write_all(&replace(&name, data)).unwrap();
    }
    out.finish().unwrap().into_inner()
}

/// The archive's `data.pkl` member: its name and bytes.
fn data_pkl(bytes: &[u8]) -> (String, Vec<u8>) {
    members(bytes)
        .into_iter()
        .find(|(n, _)| n.ends_with("/data.pkl"))
        .unwrap()
}

/// The first storage member (`<prefix>/data/<key>`) and its size.
fn first_storage(bytes: &[u8]) -> (String, usize) {
    members(bytes)
        .into_iter()
        .find(|(n, _)| n.contains("/data/"))
        .map(|(n, d)| (n, d.len()))
        .unwrap()
}

/// Sets the uncompressed size that the local and central headers of `name` declare.
fn patch_declared_size(bytes: &mut [u8], name: &str, size: u32) {
    let mut patched = 0;
    for (sig, size_at, name_len_at, name_at) in [
        (b"PK\x03\x04", 22usize, 26usize, 30usize),
        (b"PK\x01\x02", 24, 28, 46),
    ] {
        let mut i = 0;
        while i + name_at < bytes.len() {
            if &bytes[i..i + 4] == sig {
                let len = u16::from_le_bytes([bytes[i + name_len_at], bytes[i + name_len_at + 1]]);
                let at = i + name_at;
                if bytes.get(at..at + len as usize) == Some(name.as_bytes()) {
                    bytes[i + size_at..i + size_at + 4].copy_from_slice(&size.to_le_bytes());
                    patched += 1;
                }
            }
            i += 1;
        }
    }
    assert_eq!(patched, 2, "both headers of {name} patched");
}

fn read(bytes: &[u8]) -> (PthError, String, Duration) {
    let start = Instant::now();
    let e = read_raw_state_dict_bytes(bytes, "bomb.pth").unwrap_err();
    let msg = e.to_string();
    (e, msg, start.elapsed())
}

#[test]
fn the_rebuilt_archive_reads_like_the_fixture() {
    let original = tiny_zip();
    let rebuilt = rebuild(&original, |_, d| d);
    let a = read_raw_state_dict_bytes(&original, "tiny_zip.pth").unwrap();
    let b = read_raw_state_dict_bytes(&rebuilt, "rebuilt.pth").unwrap();
    assert_eq!(a.len(), b.len());
    for ((ka, ta), (kb, tb)) in a.iter().zip(&b) {
        assert_eq!(ka, kb);
        assert_eq!(ta.data, tb.data, "{ka}");
    }
}

#[test]
fn storage_larger_than_its_pickle_declares_is_read_no_further() {
    let original = tiny_zip();
    let (storage, size) = first_storage(&original);
    // 1 GiB of zeros deflate to about 1 MiB; the header declares the 1 GiB. torch reads the
    // storage's declared bytes from a longer record, and so does the reader, inflating no
    // more than those.
    let bomb = rebuild(
        &original,
        |n, d| if n == storage { vec![0; 1 << 30] } else { d },
    );
    assert!(bomb.len() < 4 << 20, "{} bytes", bomb.len());
    let start = Instant::now();
    let tensors = read_raw_state_dict_bytes(&bomb, "bomb.pth").unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    let expected = read_raw_state_dict_bytes(&original, "tiny_zip.pth").unwrap();
    // Tensors on the first storage now read zeros; the others are untouched.
    let mut zeroed = 0;
    for ((k, got), (_, want)) in tensors.iter().zip(&expected) {
        if got.data != want.data {
            assert!(got.data.iter().all(|&b| b == 0), "{k}");
            zeroed += 1;
        }
    }
    assert!(zeroed >= 1 && size > 0);
}

#[test]
fn storage_inflating_past_its_header_is_refused() {
    let original = tiny_zip();
    let (storage, size) = first_storage(&original);
    let mut bomb = rebuild(
        &original,
        |n, d| if n == storage { vec![0; 64 << 20] } else { d },
    );
    // The headers now claim the storage's true size; the deflate stream holds 64 MiB.
    patch_declared_size(&mut bomb, &storage, size as u32);
    let (e, msg, _) = read(&bomb);
    assert!(matches!(e, PthError::Malformed { .. }), "{msg}");
    assert!(
        msg.contains(&storage) && msg.contains("inflates past"),
        "{msg}"
    );
}

#[test]
fn data_pkl_declaring_gigabytes_is_refused_unread() {
    let original = tiny_zip();
    let (pkl, _) = data_pkl(&original);
    let mut bomb = rebuild(&original, |_, d| d);
    patch_declared_size(&mut bomb, &pkl, u32::MAX - 1);
    let (e, msg, took) = read(&bomb);
    assert!(matches!(e, PthError::OverBudget { .. }), "{msg}");
    assert!(
        msg.contains("data.pkl") && msg.contains("4294967294 bytes"),
        "{msg}"
    );
    assert!(took < Duration::from_secs(1), "{took:?}");
}

#[test]
fn data_pkl_inflating_past_its_header_is_refused() {
    let original = tiny_zip();
    let (pkl, real) = data_pkl(&original);
    // The real pickle followed by 64 MiB of padding, declared as the real pickle's size.
    let mut bomb = rebuild(&original, |n, mut d| {
        if n == pkl {
            d.resize(d.len() + (64 << 20), b'N');
        }
        d
    });
    patch_declared_size(&mut bomb, &pkl, real.len() as u32);
    let (_, msg, _) = read(&bomb);
    assert!(
        msg.contains("data.pkl") && msg.contains("inflates past"),
        "{msg}"
    );
}
