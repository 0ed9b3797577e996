//! `convkit train` on bad folders (issue 14 item 10): one class, an empty class, a class
//! missing from validation/ or test/, a 1-image class, a split that leaves a class without
//! validation images, and continuing a model on other classes: each a clear error naming the
//! class, never a panic, never a saved model; and `evaluate` on folders that do not fit.

mod common;

use std::path::Path;

use common::class_folders::{images, quick, train, tree, ODD_NAMES, SHORT};
use convkit_layers::prelude::*;

/// Runs `train` on `dir` and expects a clear error containing `expected`.
fn refused(dir: &Path, extra: &[&str], expected: &str) {
    let out = dir.parent().unwrap().join(format!(
        "out-{}",
        dir.file_name().unwrap().to_string_lossy()
    ));
    let mut args = vec![dir.to_str().unwrap(), "--out", out.to_str().unwrap()];
    if !extra.contains(&"--model") {
        args.extend(["--model", "logistic"]);
    }
    if !extra.contains(&"--size") && !extra.iter().any(|a| a.contains('/')) {
        args.extend(SHORT.into_iter().flatten());
    } else {
        args.extend(["--epochs", "1", "--loader-threads", "1"]);
    }
    args.extend_from_slice(extra);
    let (code, text) = train(&args);
    assert_eq!(code, Some(1), "{args:?} should fail: {text}");
    assert!(
        text.contains(expected),
        "{args:?}: expected '{expected}' in: {text}"
    );
    assert!(
        !out.join("model").exists(),
        "{args:?}: no model is saved from bad data"
    );
}

#[test]
fn bad_folders_are_clear_errors_naming_the_class() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    // One class.
    let one = tree(&t.join("one"), &[("only", [1, 2, 3], 10)]);
    refused(&one, &[], "found 1 class folder(s) (only)");
    // An empty class.
    let empty = tree(
        &t.join("empty"),
        &[("a", [200, 0, 0], 10), ("b", [0, 200, 0], 10)],
    );
    std::fs::create_dir_all(empty.join("ghost")).unwrap();
    refused(&empty, &[], "class folder(s) without any image: 'ghost'");
    // A 1-image class, and a split that leaves a class without validation images.
    let tiny = tree(
        &t.join("tiny"),
        &[("a", [200, 0, 0], 10), ("rare", [0, 200, 0], 1)],
    );
    refused(&tiny, &[], "class 'rare' has 1 image(s)");
    let few = tree(
        &t.join("few"),
        &[("a", [200, 0, 0], 20), ("b", [0, 200, 0], 2)],
    );
    refused(&few, &["--test-split", "0"], "class 'b' has 2 image(s)");
    refused(
        &few,
        &["--validation-split", "0.1", "--test-split", "0"],
        "no validation image",
    );
    // Split folders: a class present in train/ but missing from validation/ or test/.
    let split = t.join("split");
    for s in ["train", "validation", "test"] {
        images(&split.join(s).join("a"), [200, 0, 0], 4, 1);
    }
    images(&split.join("train/b"), [0, 200, 0], 4, 2);
    images(&split.join("test/b"), [0, 200, 0], 4, 2);
    refused(
        &split,
        &[],
        "validation/ has other classes than train/: missing 'b'",
    );
    std::fs::create_dir_all(split.join("validation/b")).unwrap();
    refused(&split, &[], "validation/: class(es) without any image: 'b'");
    images(&split.join("validation/b"), [0, 200, 0], 4, 2);
    std::fs::remove_dir_all(split.join("test/b")).unwrap();
    refused(
        &split,
        &[],
        "test/ has other classes than train/: missing 'b'",
    );
    // --label-mode binary with three classes.
    let three = tree(&t.join("three"), &ODD_NAMES);
    refused(
        &three,
        &["--label-mode", "binary"],
        "needs exactly two classes, the folder has 3",
    );
    refused(
        &three,
        &[
            "--model",
            "efficientnet-lite0",
            "--mode",
            "features",
            "--augment",
            "book",
        ],
        "cannot be augmented",
    );
}

#[test]
fn continuing_on_other_classes_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tree(&tmp.path().join("data"), &ODD_NAMES);
    let out = tmp.path().join("out");
    let (code, text) = train(&quick(dir.to_str().unwrap(), out.to_str().unwrap()));
    assert_eq!(code, Some(0), "{text}");
    let other = tree(
        &tmp.path().join("other"),
        &[("a b", [200, 30, 30], 12), ("zzz", [30, 200, 30], 12)],
    );
    refused(
        &other,
        &["--model", out.to_str().unwrap()],
        "it was trained on the classes [a b, x.y, épicéa], the folder has [a b, zzz]",
    );
    // A model directory saved without classifier info cannot be continued.
    let bare = tmp.path().join("bare");
    let mut m = Sequential::new();
    m.add(Flatten::new().input_shape([3, 32, 32])).unwrap();
    m.add(Dense::new(2)).unwrap();
    save_model(&m, &bare).unwrap();
    refused(
        &other,
        &["--model", bare.to_str().unwrap()],
        "has no info.json",
    );
}

#[test]
fn evaluate_refuses_folders_that_do_not_fit_the_model() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tree(&tmp.path().join("data"), &ODD_NAMES);
    let out = tmp.path().join("out");
    let (code, text) = train(&quick(dir.to_str().unwrap(), out.to_str().unwrap()));
    assert_eq!(code, Some(0), "{text}");
    let o = out.to_str().unwrap();
    let evaluate = |folder: &Path| {
        common::run_limited(
            &["evaluate", "--model", o, folder.to_str().unwrap()],
            &[],
            common::class_folders::LIMIT,
        )
    };
    // The folder it was trained on scores.
    let (code, text) = evaluate(&dir);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("36 images of 3 classes: "), "{text}");
    // Other classes, no class subfolders, an empty class set: clear errors.
    let other = tree(
        &tmp.path().join("other"),
        &[
            ("a b", [1, 2, 3], 2),
            ("zz", [9, 9, 9], 2),
            ("épicéa", [5, 5, 5], 2),
        ],
    );
    let (code, text) = evaluate(&other);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("zz") && text.contains("x.y"),
        "names both class lists: {text}"
    );
    let flat = tmp.path().join("flat");
    images(&flat, [1, 2, 3], 2, 0);
    let (code, text) = evaluate(&flat);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("no class subfolders"), "{text}");
}
