//! The README's block of the book's two transfer-learning listings (VGG16 feature extraction;
//! Xception's prediction and Grad-CAM), run command by command as written there, on Keras'
//! HDF5 weight files placed where `convkit fetch` puts them (`$CONVKIT_DATA/weights/<Keras'
//! file name>`; here Keras-written files of randomly initialised networks,
//! `scripts/fixtures/export_keras_h5_models.py`, since the real ones cannot be downloaded
//! here). The `fetch` line itself is covered by `cli_keras_h5.rs` against local servers.
//! Only what a test must change is changed: the folder and picture names, `--out` under a
//! temporary folder, and one short epoch.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::class_folders::cats_and_dogs;
use common::{run_limited, skimage_photos};

const LIMIT: Duration = Duration::from_secs(600);

/// The `scripts/run` lines of the README's `book-transfer-listings` block, split into
/// arguments.
fn readme_commands() -> Vec<Vec<String>> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let block = readme
        .split("<!-- book-transfer-listings -->")
        .nth(1)
        .expect("the README has the book-transfer-listings block");
    let block = block
        .split("```sh")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    block
        .lines()
        .filter_map(|l| l.trim().strip_prefix("scripts/run "))
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

/// Hard-links (or copies) `from` to `to`.
fn place(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(to);
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).unwrap();
    }
}

#[test]
fn the_readme_transfer_listings_run_on_fetched_keras_weights() {
    let commands = readme_commands();
    let names: Vec<&str> = commands.iter().map(|c| c[0].as_str()).collect();
    assert_eq!(
        names,
        ["fetch", "train", "predict", "gradcam"],
        "{commands:?}"
    );
    assert_eq!(commands[0][1..], ["vgg16-notop", "xception"]);

    // Where `fetch vgg16-notop xception` puts its files.
    let fixtures =
        common::export_fixtures("export_keras_h5_models.py", "keras-h5-models", "xception");
    common::export_fixtures("export_keras_h5_models.py", "keras-h5-models", "vgg16");
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("book-transfer-listings");
    let _ = std::fs::remove_dir_all(&work);
    let data = work.join("data");
    place(
        &fixtures.join("vgg16_notop.h5"),
        &data.join("weights/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    );
    place(
        &fixtures.join("xception_top.h5"),
        &data.join("weights/xception_weights_tf_dim_ordering_tf_kernels.h5"),
    );

    let folder = cats_and_dogs(&work.join("cats_vs_dogs_small"), 40);
    let photo = skimage_photos().join("chelsea.png");
    let out_of = |arg: &str| work.join(arg).to_string_lossy().into_owned();
    for command in &commands[1..] {
        let mut args: Vec<String> = Vec::new();
        let mut it = command.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "cats_vs_dogs_small" => args.push(folder.to_string_lossy().into_owned()),
                "elephant.jpg" => args.push(photo.to_string_lossy().into_owned()),
                "--out" => {
                    args.push(a.clone());
                    args.push(out_of(it.next().unwrap()));
                }
                _ => args.push(a.clone()),
            }
        }
        if args[0] == "train" {
            args.extend(
                [
                    "--epochs",
                    "1",
                    "--batch-size",
                    "8",
                    "--loader-threads",
                    "1",
                ]
                .map(String::from),
            );
        }
        args.extend([
            "--data-dir".to_string(),
            data.to_string_lossy().into_owned(),
        ]);
        let (code, text) = run_limited(&args, &[("CONVKIT_THREADS", "2")], LIMIT);
        assert_eq!(code, Some(0), "{args:?}: {text}");
        assert!(
            text.contains("Using Keras' ImageNet weights fetched into"),
            "{args:?} uses the fetched file: {text}"
        );
        match args[0].as_str() {
            "train" => {
                let run = work.join("runs/vgg16-features");
                assert!(
                    run.join("cache/train").is_dir(),
                    "features cached once: {text}"
                );
                assert!(run.join("model/model.json").is_file(), "{text}");
                // Keras' VGG16 file expects caffe-style input, and the model records it.
                let info = convkit::classifier_info::ClassifierInfo::load(&run.join("model"))
                    .unwrap()
                    .unwrap();
                assert_eq!(
                    info.preprocessing,
                    convkit::classifier_info::Preprocessing::Mode {
                        mode: convkit::preprocess_mode::PreprocessMode::Caffe
                    }
                );
                assert!(
                    text.contains("extracted features [512, 5, 5]"),
                    "the 5x5x512 map of a 180x180 image: {text}"
                );
                assert!(
                    text.contains("(Flatten)"),
                    "Flatten - Dense(256) - Dropout - Dense(1): {text}"
                );
            }
            "predict" => {
                let lines: Vec<&str> = text
                    .lines()
                    .filter(|l| l.trim_end().ends_with(char::is_numeric) && l.contains(") 0."))
                    .collect();
                assert_eq!(
                    lines.len(),
                    5,
                    "the top five ImageNet classes by name: {text}"
                );
            }
            _ => {
                assert!(text.contains("layer block14_sepconv2_act"), "{text}");
                for f in ["chelsea_heatmap.png", "chelsea_gradcam.png"] {
                    assert!(work.join("cam").join(f).is_file(), "{f}: {text}");
                }
            }
        }
    }
}
