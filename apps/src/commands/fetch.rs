//! `convkit fetch mnist|vgg16|vgg16-notop|xception|xception-notop|resnet50|resnet50-notop`:
//! MNIST from its mirrors (MD5-checked), or Keras' official ImageNet weight files from the
//! URLs and with the digests in Keras' own `keras/src/applications/*.py`, into
//! `$CONVKIT_DATA/weights`: streamed to a `.part` file, resumed after a cut, verified, then
//! renamed into place.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::bail;
use clap::Args;
use convkit::keras_weights::{self, KerasWeights, KERAS_APPLICATIONS_URL, KERAS_WEIGHTS};
use convkit_data::download::{download_file, FileHash};
use convkit_data::Mnist;
use indicatif::{ProgressBar, ProgressStyle};

use crate::runtime::RuntimeArgs;

/// Arguments of `convkit fetch`.
#[derive(Args, Debug)]
pub struct FetchArgs {
    /// What to fetch: mnist, or Keras' weights: vgg16, vgg16-notop, xception, xception-notop,
    /// resnet50, resnet50-notop.
    #[arg(required = true)]
    pub what: Vec<String>,
    /// Root URL of Keras' weight files (a mirror serving Keras' paths).
    #[arg(long, default_value = KERAS_APPLICATIONS_URL)]
    pub base_url: String,
    /// Seconds without data before a download counts as cut.
    #[arg(long, default_value_t = 30, value_parser = crate::ranges::count(1, 3_600))]
    pub timeout: usize,
    #[command(flatten)]
    rt: RuntimeArgs,
}

/// Fetches each name of `args.what`, unless already present and verified.
pub fn run(args: FetchArgs) -> anyhow::Result<()> {
    for name in &args.what {
        match name.as_str() {
            "mnist" => fetch_mnist(&args)?,
            other => match keras_weights::find(other) {
                Some(w) => fetch_weights(&args, w)?,
                None => {
                    let known: Vec<&str> = KERAS_WEIGHTS.iter().map(|w| w.name).collect();
                    bail!(
                        "unknown name '{other}': expected mnist, {}",
                        known.join(", ")
                    )
                }
            },
        }
    }
    Ok(())
}

fn fetch_mnist(args: &FetchArgs) -> anyhow::Result<()> {
    let dir = args.rt.data_dir.join("mnist");
    if Mnist::is_present(&dir) && Mnist::verify(&dir).is_ok() {
        println!("MNIST already present and verified in {}", dir.display());
        return Ok(());
    }
    convkit_data::download::download_mnist(&dir)?;
    Mnist::verify(&dir)?;
    println!("MNIST downloaded and verified in {}", dir.display());
    Ok(())
}

fn fetch_weights(args: &FetchArgs, w: &KerasWeights) -> anyhow::Result<()> {
    let url = w.url(&args.base_url);
    let target = w.target(&args.rt.data_dir);
    let hash = FileHash::parse(w.hash)?;
    let mut show = Progress::new(w.file_name());
    let timeout = Duration::from_secs(args.timeout as u64);
    match download_file(&url, &target, &hash, timeout, &mut |done, total| {
        show.update(done, total)
    }) {
        Ok(false) => println!(
            "{} already present and verified: {}",
            w.name,
            target.display()
        ),
        Ok(true) => {
            show.finish();
            println!("{} downloaded and verified: {}", w.name, target.display());
        }
        Err(e) => {
            show.finish();
            bail!(
                "{e}\nWithout network, download {url} elsewhere and place it at {} (its MD5 \
                 must be {}); `convkit fetch {}` then verifies it.",
                target.display(),
                w.hash,
                w.name
            )
        }
    }
    Ok(())
}

/// A bar on a terminal, a plain line per tenth otherwise.
struct Progress {
    name: &'static str,
    bar: Option<ProgressBar>,
    next_tenth: u64,
}

impl Progress {
    fn new(name: &'static str) -> Progress {
        Progress {
            name,
            bar: None,
            next_tenth: 1,
        }
    }

    fn update(&mut self, done: u64, total: Option<u64>) {
        if std::io::stdout().is_terminal() {
            let bar = self.bar.get_or_insert_with(|| {
                let bar = ProgressBar::new(total.unwrap_or(0));
                if let Ok(style) = ProgressStyle::with_template(
                    "{msg} {bytes}/{total_bytes} {bar:30} {bytes_per_sec} eta {eta}",
                ) {
                    bar.set_style(style);
                }
                bar.set_message(self.name);
                bar
            });
            bar.set_position(done);
        } else if let Some(total) = total.filter(|&t| t > 0) {
            while self.next_tenth <= 10 && done * 10 >= total * self.next_tenth {
                println!(
                    "{}: {}% ({done} of {total} bytes)",
                    self.name,
                    self.next_tenth * 10
                );
                self.next_tenth += 1;
            }
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
