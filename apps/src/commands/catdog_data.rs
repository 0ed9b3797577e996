//! The train/ validation/ test/ folders of the cats-vs-dogs workflows (`catdog`, `features`,
//! `finetune`): a user's split folders, a split of Kaggle's flat layout, or the offline
//! digit-scenes stand-in.

use std::path::{Path, PathBuf};

use convkit_data::dataset_split::{split_dataset, SplitCounts, SplitLayout, Transfer};
use convkit_data::digit_scenes::{export_scenes_flat, Backgrounds};
use convkit_data::Mnist;

/// The train/ validation/ test/ folders of the cats-vs-dogs workflows (`catdog`, `features`,
/// `finetune`): `data` itself when it is already split, a Kaggle-layout split of it into
/// `split_dir`, or (no `data`) the offline stand-in built from MNIST.
pub(crate) fn prepare_split(
    data: Option<&Path>,
    split_dir: &Path,
    per_class: [usize; 3],
    data_dir: &Path,
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
            let original = data_dir.join("digit-scenes-4-vs-9");
            let total: usize = per_class.iter().sum();
            let backgrounds_dir = data_dir.join("backgrounds");
            println!(
                "No --data given: Kaggle's dogs-vs-cats is not available offline, so this run \
                 uses a real two-class stand-in: MNIST digits 4 ('four') and 9 ('nine'), tinted, \
                 scaled and placed at random over crops of real photos and textures \
                 (scikit-image's sample images, in {}), as 64x64 PNG files in the Kaggle layout \
                 ({total} per class) in {}.",
                backgrounds_dir.display(),
                original.display()
            );
            let mnist = Mnist::load(&data_dir.join("mnist"))?;
            let backgrounds = Backgrounds::load(&backgrounds_dir)?;
            export_scenes_flat(
                &mnist,
                &[(4, "four"), (9, "nine")],
                total,
                64,
                &backgrounds,
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
