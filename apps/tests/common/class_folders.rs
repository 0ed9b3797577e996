//! Class folders of small noisy PNGs for the `convkit train` tests, and short runs on them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rand::{Rng, SeedableRng};

use super::run_limited;

pub const LIMIT: Duration = Duration::from_secs(300);

/// Writes `n` 40x40 PNGs of class colour `rgb` (with noise) into `dir`.
pub fn images(dir: &Path, rgb: [u8; 3], n: usize, seed: u64) {
    std::fs::create_dir_all(dir).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    for i in 0..n {
        let img = image::RgbImage::from_fn(40, 40, |_, _| {
            image::Rgb(rgb.map(|c| c.saturating_add(rng.gen_range(0..40))))
        });
        img.save(dir.join(format!("img {i}.png"))).unwrap();
    }
}

/// One tree of class folders: `(name, colour, count)`.
pub fn tree(root: &Path, classes: &[(&str, [u8; 3], usize)]) -> PathBuf {
    for (k, (name, rgb, n)) in classes.iter().enumerate() {
        images(&root.join(name), *rgb, *n, k as u64);
    }
    root.to_path_buf()
}

pub const ODD_NAMES: [(&str, [u8; 3], usize); 3] = [
    ("a b", [200, 30, 30], 12),
    ("x.y", [30, 200, 30], 12),
    ("épicéa", [30, 30, 200], 12),
];

pub fn train(args: &[&str]) -> (Option<i32>, String) {
    let mut all = vec!["train"];
    all.extend_from_slice(args);
    run_limited(&all, &[("CONVKIT_THREADS", "1")], LIMIT)
}

/// A short run of the logistic baseline at 32x32.
pub fn quick<'a>(dir: &'a str, out: &'a str) -> Vec<&'a str> {
    let mut args = vec![dir, "--out", out, "--model", "logistic"];
    args.extend(SHORT.into_iter().flatten());
    args
}

/// The options of a short run, flag by flag: 32x32 inputs, 2 epochs, batches of 8.
pub const SHORT: [[&str; 2]; 4] = [
    ["--size", "32"],
    ["--epochs", "2"],
    ["--batch-size", "8"],
    ["--loader-threads", "1"],
];

/// Two classes, `cat` and `dog`, of 10 `side`x`side` PNGs each (a colour and a fixed
/// pattern, no randomness), under `root`.
pub fn cats_and_dogs(root: &Path, side: u32) -> PathBuf {
    for (k, (class, rgb)) in [("cat", [200u8, 60, 30]), ("dog", [30, 60, 200])]
        .into_iter()
        .enumerate()
    {
        std::fs::create_dir_all(root.join(class)).unwrap();
        for i in 0..10u32 {
            let img = image::RgbImage::from_fn(side, side, |x, y| {
                let n = ((x * 7 + y * 13 + i * 31 + k as u32 * 5) % 40) as u8;
                image::Rgb(rgb.map(|c| c.saturating_add(n)))
            });
            img.save(root.join(class).join(format!("{i}.png"))).unwrap();
        }
    }
    root.to_path_buf()
}
