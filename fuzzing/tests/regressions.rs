//! Replays, on the stable toolchain, every input kept from fuzzing: the corpus of each target
//! (`fuzz/corpus/<target>/`, minimised, seeded by `scripts/fuzz`) and every crash or timeout
//! found (`fuzz/regressions/<target>/`, kept after the fix). Each must be handled without a
//! panic and quickly.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz")
        .join(kind)
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.is_file());
    files.sort();
    files
}

#[test]
fn every_kept_input_is_handled_without_a_panic() {
    let mut replayed = 0;
    for (target, body) in convkit_fuzzing::TARGETS {
        let corpus = inputs("corpus", target);
        assert!(
            !corpus.is_empty(),
            "fuzz/corpus/{target} is empty: run scripts/fuzz"
        );
        for path in corpus.iter().chain(&inputs("regressions", target)) {
            let data = std::fs::read(path).unwrap();
            let start = Instant::now();
            let outcome = std::panic::catch_unwind(|| body(&data));
            assert!(outcome.is_ok(), "{target}: {} panics", path.display());
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{target}: {} took {:?}",
                path.display(),
                start.elapsed()
            );
            replayed += 1;
        }
    }
    assert!(replayed >= 5);
}

#[test]
fn the_keras_corpora_reach_the_loaders_success_paths() {
    let read = |t: &str| -> Vec<Vec<u8>> {
        inputs("corpus", t)
            .iter()
            .map(|p| std::fs::read(p).unwrap())
            .collect()
    };
    let h5: Vec<usize> = read("keras_h5")
        .iter()
        .map(|d| convkit_fuzzing::keras_h5_layouts_loaded(d))
        .collect();
    assert!(
        h5.iter().filter(|&&n| n > 0).count() >= 2,
        "the legacy and the Keras 3 seeds load into the small network: {h5:?}"
    );
    let archives = read("keras_archive")
        .iter()
        .filter(|d| convkit_fuzzing::keras_archive_loads(d))
        .count();
    assert!(archives >= 2, "the seed archives load: {archives}");
}
