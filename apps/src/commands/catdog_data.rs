//! The train/ validation/ test/ folders of the cats-vs-dogs workflows (`catdog`, `features`,
//! `finetune`): a user's split folders, a split of Kaggle's flat layout, or the offline
//! digit-scenes stand-in.

use std::path::{Path, PathBuf};

use convkit_data::dataset_split::{split_dataset, SplitCounts, SplitLayout, Transfer};
use convkit_data::digit_scenes::{export_grouped_scenes_flat, Backgrounds, SceneStyle};
use convkit_data::Mnist;

/// The train/ validation/ test/ folders of the cats-vs-dogs workflows (`catdog`, `features`,
/// `finetune`): `data` itself when it is already split, a Kaggle-layout split of it into
/// `split_dir`, or (no `data`) the offline stand-in built from MNIST.
/// Where [`prepare_split`] puts (or finds) the split folders, without making them: `data`
/// itself when it already has `train/`, else `split_dir`.
pub(crate) fn split_location(data: Option<&Path>, split_dir: &Path) -> PathBuf {
    match data {
        Some(dir) if dir.join("train").is_dir() => dir.to_path_buf(),
        _ => split_dir.to_path_buf(),
    }
}

pub(crate) fn prepare_split(
    data: Option<&Path>,
    split_dir: &Path,
    per_class: [usize; 3],
    data_dir: &Path,
    stand_in: StandIn,
) -> anyhow::Result<PathBuf> {
    let layout = SplitLayout::Flat { counts: per_class };
    let counts: SplitCounts = match data {
        Some(dir) if dir.join("train").is_dir() => {
            println!("Using the split folders in {}", dir.display());
            return Ok(dir.to_path_buf());
        }
        Some(dir) => {
            println!(
                "Splitting {} (Kaggle layout, {:?} per class)",
                dir.display(),
                per_class
            );
            split_dataset(dir, split_dir, &layout, Transfer::HardLink, true)?
        }
        None => {
            let original = data_dir.join(stand_in.folder());
            let total: usize = per_class.iter().sum();
            let backgrounds_dir = data_dir.join("backgrounds");
            println!(
                "No --data given: Kaggle's dogs-vs-cats is not available offline, so this run \
                 uses a real two-class stand-in: {}, tinted, scaled and placed at random over \
                 crops of real photos and textures (scikit-image's sample images, in {}), as \
                 64x64 PNG files in the Kaggle layout ({total} per class) in {}.",
                stand_in.classes(),
                backgrounds_dir.display(),
                original.display()
            );
            let mnist = Mnist::load(&data_dir.join("mnist"))?;
            let backgrounds = Backgrounds::load(&backgrounds_dir)?;
            export_grouped_scenes_flat(
                &mnist,
                stand_in.groups(),
                total,
                64,
                &backgrounds,
                &SceneStyle::CLASSIFICATION,
                &original,
            )?;
            split_dataset(&original, split_dir, &layout, Transfer::HardLink, true)?
        }
    };
    for (split, classes) in &counts {
        let parts: Vec<String> = classes.iter().map(|(c, n)| format!("{n} {c}")).collect();
        println!("  {split:<10} {}", parts.join(", "));
    }
    Ok(split_dir.to_path_buf())
}

/// Which offline stand-in of dogs vs cats: MNIST's 4 and 9 in scenes (`features`,
/// `finetune`), or the low digits 0-4 against the high digits 5-9 (`catdog`): each class a
/// mix of five shapes, as a class of cats mixes breeds, so that a convnet trained from
/// scratch on a few thousand scenes memorises its training set before it generalises — the
/// book's overfitting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StandIn {
    /// `four` (4) vs `nine` (9).
    FourNine,
    /// `low` (0-4) vs `high` (5-9).
    LowHigh,
}

impl StandIn {
    fn groups(self) -> &'static [(&'static [i64], &'static str)] {
        match self {
            StandIn::FourNine => &[(&[4], "four"), (&[9], "nine")],
            StandIn::LowHigh => &[(&[0, 1, 2, 3, 4], "low"), (&[5, 6, 7, 8, 9], "high")],
        }
    }

    fn folder(self) -> &'static str {
        match self {
            StandIn::FourNine => "digit-scenes-4-vs-9",
            StandIn::LowHigh => "digit-scenes-low-vs-high",
        }
    }

    fn classes(self) -> &'static str {
        match self {
            StandIn::FourNine => "MNIST digits 4 ('four') and 9 ('nine')",
            StandIn::LowHigh => {
                "MNIST digits 0-4 ('low') against 5-9 ('high'), each class a mix of five shapes"
            }
        }
    }
}

/// The catdog per-class counts for train, validation, test: `--per-class`, else the book's
/// 1000/500/500 with real data or on a GPU, else 150/300/500.
pub(crate) fn per_class_counts(given: Option<&[usize]>, full: bool) -> anyhow::Result<[usize; 3]> {
    Ok(match given {
        Some(v) if v.len() == 3 => [v[0], v[1], v[2]],
        Some(v) => anyhow::bail!("--per-class takes train,validation,test counts, got {v:?}"),
        None if full => [1000, 500, 500],
        None => [150, 300, 500],
    })
}
