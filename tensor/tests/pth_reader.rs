//! The native `.pth` reader against files written by PyTorch 2.13.
//!
//! Fixtures: `tensor/tests/fixtures/*.pth`, made by `scripts/fixtures/make_pth_fixtures.py`
//! (its docstring lists each file); `tiny_expected.safetensors` holds the values
//! `torch.load` returns, made contiguous.

use std::collections::HashMap;
use std::path::PathBuf;

use convkit_tensor::pth::read_state_dict;
use convkit_tensor::tch::{Kind, Tensor};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn expected() -> HashMap<String, Tensor> {
    Tensor::read_safetensors(fixture("tiny_expected.safetensors"))
        .unwrap()
        .into_iter()
        .collect()
}

fn check_all(file: &str) {
    let got = read_state_dict(&fixture(file)).unwrap();
    let want = expected();
    assert_eq!(got.len(), want.len(), "{file}: tensor count");
    for (name, t) in &got {
        let w = &want[name];
        assert_eq!(t.size(), w.size(), "{file}: {name} shape");
        assert_eq!(t.kind(), w.kind(), "{file}: {name} dtype");
        let same = t
            .to_kind(Kind::Double)
            .eq_tensor(&w.to_kind(Kind::Double))
            .all();
        assert!(
            bool::try_from(same).unwrap(),
            "{file}: {name} values differ"
        );
    }
    let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        &names[..3],
        &["0.weight", "0.bias", "1.weight"],
        "file order"
    );
}

#[test]
fn zip_format_reads_bit_exactly() {
    check_all("tiny_zip.pth");
}

#[test]
fn legacy_format_reads_bit_exactly() {
    check_all("tiny_legacy.pth");
}

fn error_of(file: &str) -> String {
    read_state_dict(&fixture(file)).unwrap_err().to_string()
}

#[test]
fn truncated_files_are_refused_naming_the_tensor() {
    let e = error_of("truncated_legacy.pth");
    assert!(
        e.contains("truncated") && e.contains("tensor 'shared_"),
        "{e}"
    );
    let e = error_of("truncated_zip.pth");
    assert!(
        e.contains("truncated file") && e.contains("tensor 'shared_"),
        "{e}"
    );
}

#[test]
fn a_missing_storage_is_refused_naming_the_tensor() {
    let e = error_of("missing_entry.pth");
    assert!(
        e.contains("tensor '3.weight'") && e.contains("missing"),
        "{e}"
    );
}

#[test]
fn code_in_a_pickle_is_never_run_and_is_named() {
    let e = error_of("evil.pth");
    assert!(e.contains("tensor 'evil.weight'"), "{e}");
    assert!(
        e.contains("posix.system") && e.contains("nothing from the pickle is executed"),
        "{e}"
    );
}

#[test]
fn non_tensor_values_are_refused_naming_the_key() {
    let e = error_of("plain_object.pth");
    assert!(e.contains("'conv.extra'"), "{e}");
    assert!(
        e.contains("builtins.set") || e.contains("__builtin__.set"),
        "{e}"
    );
}

#[test]
fn other_files_are_not_state_dicts() {
    let dir = tempfile_dir();
    let p = dir.join("notes.pth");
    std::fs::write(&p, b"hello").unwrap();
    let e = read_state_dict(&p).unwrap_err().to_string();
    assert!(e.contains("not a PyTorch state dict"), "{e}");
}

fn tempfile_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("convkit-pth-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}
