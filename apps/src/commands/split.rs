//! `convkit split ORIGINAL TARGET`: builds `train/ validation/ test/` folders, Kaggle
//! dogs-vs-cats style (flat `cat.N.jpg`, index ranges per split, the book's 1000/500/500) or
//! by fractions over class subfolders.

use std::path::PathBuf;

use clap::Args;
use convkit_data::dataset_split::{split_dataset, SplitLayout, Transfer};

/// Arguments of `convkit split`.
#[derive(Args, Debug)]
pub struct SplitArgs {
    /// The original folder (flat CLASS.INDEX.EXT files, or class subfolders).
    original: PathBuf,
    /// Where train/ validation/ test/ are created.
    target: PathBuf,
    /// flat (Kaggle: CLASS.INDEX.EXT) or fractions (class subfolders).
    #[arg(long, default_value = "flat")]
    layout: String,
    /// Flat layout: images per class for train,validation,test (the book's 1000,500,500).
    #[arg(long, value_delimiter = ',', default_value = "1000,500,500", value_parser = crate::ranges::count(0, 100_000_000))]
    counts: Vec<usize>,
    /// Fractions layout: train,validation,test fractions of each class.
    #[arg(long, allow_hyphen_values = true, value_delimiter = ',', default_value = "0.7,0.15,0.15", value_parser = crate::ranges::FloatRange::closed(0.0, 1.0).parser())]
    fractions: Vec<f64>,
    /// Fractions layout: keep the sorted order instead of shuffling with --seed.
    #[arg(long)]
    no_shuffle: bool,
    /// Seed of the fractions shuffle.
    #[arg(long, default_value_t = convkit_tensor::seed::DEFAULT_SEED)]
    seed: u64,
    /// Hard-link instead of copying (no extra disk space).
    #[arg(long)]
    link: bool,
    /// Replace the split folders of a non-empty target.
    #[arg(long)]
    force: bool,
}

/// Runs the split and prints the counts.
pub fn run(a: SplitArgs) -> anyhow::Result<()> {
    let layout = match a.layout.as_str() {
        "flat" => {
            let c: [usize; 3] = a
                .counts
                .clone()
                .try_into()
                .map_err(|_| anyhow::anyhow!("--counts takes train,validation,test"))?;
            SplitLayout::Flat { counts: c }
        }
        "fractions" => {
            let f: [f64; 3] = a
                .fractions
                .clone()
                .try_into()
                .map_err(|_| anyhow::anyhow!("--fractions takes train,validation,test"))?;
            SplitLayout::Fractions {
                fractions: f,
                seed: (!a.no_shuffle).then_some(a.seed),
            }
        }
        other => anyhow::bail!("--layout must be flat or fractions, got '{other}'"),
    };
    let transfer = if a.link {
        Transfer::HardLink
    } else {
        Transfer::Copy
    };
    let counts = split_dataset(&a.original, &a.target, &layout, transfer, a.force)?;
    for (split, classes) in &counts {
        let total: usize = classes.values().sum();
        let parts: Vec<String> = classes.iter().map(|(c, n)| format!("{n} {c}")).collect();
        println!("{split:<10} {total:>6} images: {}", parts.join(", "));
    }
    println!("Wrote {}", a.target.display());
    Ok(())
}
