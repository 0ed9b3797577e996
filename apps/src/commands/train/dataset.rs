//! `DIR` to the listings `train` learns, validates and tests on: a tree already split into
//! `train/ validation/ [test/]` class folders, one tree of class folders split here
//! (recorded in `OUT/split.json`), or, without `DIR`, the offline stand-in.

use std::path::{Path, PathBuf};

use anyhow::Context;
use convkit_data::digit_scenes::{export_scenes_class_folders, Backgrounds};
use convkit_data::image_folder::{
    list_class_folders, split_three_ways, ImageFolderOptions, Listing, ThreeWaySplit,
};
use convkit_data::Mnist;
use serde_json::json;

use super::TrainArgs;
use crate::ranks::Ranks;
use crate::runtime::write_json;

/// The stand-in's classes: MNIST's ten digits, named.
pub const STAND_IN_CLASSES: [(i64, &str); 10] = [
    (0, "zero"),
    (1, "one"),
    (2, "two"),
    (3, "three"),
    (4, "four"),
    (5, "five"),
    (6, "six"),
    (7, "seven"),
    (8, "eight"),
    (9, "nine"),
];

/// The listings of one run.
pub struct Splits {
    /// Class names, in label order.
    pub class_names: Vec<String>,
    /// Training files.
    pub train: Listing,
    /// Validation files.
    pub validation: Listing,
    /// Test files (empty when there is no test part).
    pub test: Listing,
    /// The folder the files come from.
    pub root: PathBuf,
    /// Whether this is the offline stand-in (its default sizes differ).
    pub stand_in: bool,
}

/// The three listings of `args.dir` (or of the stand-in).
///
/// Data-parallel: rank 0 builds the stand-in (the others wait for it), prints and records the
/// split; every rank lists the same files.
pub fn resolve(args: &TrainArgs) -> anyhow::Result<Splits> {
    let ranks = Ranks::from_env()?;
    let main = ranks.is_main();
    let (root, stand_in) = match &args.dir {
        Some(dir) => (dir.clone(), false),
        // Rank 0 builds the stand-in while the others wait.
        None => (
            ranks.main_first(|| build_stand_in(args), || Ok(stand_in_dir(args)))?,
            true,
        ),
    };
    // Rank 0 alone prints.
    macro_rules! say {
        ($($t:tt)*) => {
            if main {
                println!($($t)*);
            }
        };
    }
    let opts = ImageFolderOptions::image_dataset_from_directory();
    let splits = if root.join("train").is_dir() {
        say!("Using the split folders in {}", root.display());
        let train = list_class_folders(&root.join("train"), &opts)?;
        let part = |name: &str| -> anyhow::Result<Listing> {
            let dir = root.join(name);
            if !dir.is_dir() {
                return Ok(Listing {
                    class_names: train.class_names.clone(),
                    samples: Vec::new(),
                });
            }
            let listing = list_class_folders(&dir, &opts)?;
            same_classes(&train, &listing, name)?;
            Ok(listing)
        };
        let validation = part("validation")?;
        anyhow::ensure!(
            !validation.samples.is_empty(),
            "{}: no validation/ folder with images; give train/ and validation/ (and test/) \
             class folders, or one tree of class folders to split with --validation-split",
            root.display()
        );
        let test = part("test")?;
        Splits {
            class_names: train.class_names.clone(),
            train,
            validation,
            test,
            root: root.clone(),
            stand_in,
        }
    } else {
        let listing = list_class_folders(&root, &opts)?;
        check_classes(&listing, &root)?;
        let rule = ThreeWaySplit::parse(&args.split_rule)?;
        let s = split_three_ways(
            &listing,
            args.validation_split,
            args.test_split,
            rule,
            args.rt.seed,
        )
        .with_context(|| format!("splitting {}", root.display()))?;
        anyhow::ensure!(
            !s.validation.samples.is_empty(),
            "--validation-split 0 leaves no validation images; train keeps the best model by \
             val_loss, so give a fraction above 0"
        );
        if main {
            record_split(&args.out.join("split.json"), &root, rule, args, &s)?;
        }
        Splits {
            class_names: listing.class_names.clone(),
            train: s.train,
            validation: s.validation,
            test: s.test,
            root: root.clone(),
            stand_in,
        }
    };
    let mut splits = splits;
    if splits.test.samples.is_empty() && args.score_validation {
        say!("No labeled test set: scoring and reporting on the validation images.");
        splits.test = splits.validation.clone();
    }
    check_classes(&splits.train, &root)?;
    for (name, l) in [
        ("training", &splits.train),
        ("validation", &splits.validation),
        ("test", &splits.test),
    ] {
        if l.samples.is_empty() {
            say!("No {name} images.");
            continue;
        }
        say!(
            "Found {} images belonging to {} classes. ({name})",
            l.samples.len(),
            l.class_names.len()
        );
    }
    Ok(splits)
}

/// At least two classes, each with an image: anything else cannot train a classifier.
fn check_classes(listing: &Listing, dir: &Path) -> anyhow::Result<()> {
    let k = listing.class_names.len();
    anyhow::ensure!(
        k >= 2,
        "{}: found {k} class folder(s) ({}); a classifier needs at least two classes, one \
         subfolder of images per class",
        dir.display(),
        listing.class_names.join(", ")
    );
    let empty: Vec<&str> = (0..k)
        .filter(|&c| !listing.samples.iter().any(|s| s.label == c))
        .map(|c| listing.class_names[c].as_str())
        .collect();
    anyhow::ensure!(
        empty.is_empty(),
        "{}: class folder(s) without any image: {}; add images or remove the folder(s)",
        dir.display(),
        quoted(&empty)
    );
    Ok(())
}

/// The classes of a validation or test folder must be those of train/, and each must have
/// an image there (its metrics would be computed on nothing).
fn same_classes(train: &Listing, other: &Listing, name: &str) -> anyhow::Result<()> {
    let missing: Vec<&str> = train
        .class_names
        .iter()
        .filter(|c| !other.class_names.contains(c))
        .map(String::as_str)
        .collect();
    let extra: Vec<&str> = other
        .class_names
        .iter()
        .filter(|c| !train.class_names.contains(c))
        .map(String::as_str)
        .collect();
    anyhow::ensure!(
        missing.is_empty() && extra.is_empty(),
        "{name}/ has other classes than train/: missing {}, extra {}",
        quoted(&missing),
        quoted(&extra)
    );
    let k = other.class_names.len();
    let empty: Vec<&str> = (0..k)
        .filter(|&c| !other.samples.iter().any(|s| s.label == c))
        .map(|c| other.class_names[c].as_str())
        .collect();
    anyhow::ensure!(
        empty.is_empty(),
        "{name}/: class(es) without any image: {}; every class needs {name} images",
        quoted(&empty)
    );
    Ok(())
}

fn quoted(names: &[&str]) -> String {
    if names.is_empty() {
        return "none".into();
    }
    names
        .iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes which file went where, so the split can be checked and repeated.
fn record_split(
    path: &Path,
    root: &Path,
    rule: ThreeWaySplit,
    args: &TrainArgs,
    s: &convkit_data::image_folder::ListingSplit,
) -> anyhow::Result<()> {
    let files = |l: &Listing| -> Vec<serde_json::Value> {
        l.samples
            .iter()
            .map(|x| {
                let rel = x.path.strip_prefix(root).unwrap_or(&x.path);
                json!({"file": rel.to_string_lossy(), "class": l.class_names[x.label]})
            })
            .collect()
    };
    write_json(
        path,
        &json!({
            "root": root.to_string_lossy(),
            "rule": rule, "seed": args.rt.seed,
            "validation_split": args.validation_split, "test_split": args.test_split,
            "class_names": s.train.class_names,
            "train": files(&s.train), "validation": files(&s.validation), "test": files(&s.test),
        }),
    )
}

/// Where the ten-class stand-in is (or goes) under `$CONVKIT_DATA`.
fn stand_in_dir(args: &TrainArgs) -> PathBuf {
    let per_class = args.stand_in_per_class;
    args.rt
        .data_dir
        .join(format!("digit-scenes-10-classes-{per_class}"))
}

/// The ten-class stand-in, built once under `$CONVKIT_DATA`.
fn build_stand_in(args: &TrainArgs) -> anyhow::Result<PathBuf> {
    let data_dir = &args.rt.data_dir;
    let per_class = args.stand_in_per_class;
    let dir = stand_in_dir(args);
    let backgrounds_dir = data_dir.join("backgrounds");
    println!(
        "No DIR given: this run uses an offline stand-in with ten classes: MNIST digits 0-9 \
         ('zero' to 'nine'), tinted, scaled and placed at random over crops of real photos \
         and textures (scikit-image's sample images, in {}), {per_class} per class as 64x64 \
         PNG files in class folders in {}.",
        backgrounds_dir.display(),
        dir.display()
    );
    let mnist = Mnist::load(&data_dir.join("mnist"))?;
    let backgrounds = Backgrounds::load(&backgrounds_dir)?;
    export_scenes_class_folders(&mnist, &STAND_IN_CLASSES, per_class, 64, &backgrounds, &dir)?;
    Ok(dir)
}
