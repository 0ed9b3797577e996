//! `convkit fetch mnist`: download MNIST from the standard mirrors (MD5-checked).

use anyhow::bail;
use clap::Args;
use convkit_data::Mnist;

use crate::runtime::RuntimeArgs;

/// Arguments of `convkit fetch`.
#[derive(Args, Debug)]
pub struct FetchArgs {
    /// Dataset to fetch (mnist).
    pub dataset: String,
    #[command(flatten)]
    rt: RuntimeArgs,
}

/// Downloads the dataset unless it is already present and verified.
pub fn run(args: FetchArgs) -> anyhow::Result<()> {
    match args.dataset.as_str() {
        "mnist" => {
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
        other => bail!("unknown dataset '{other}': expected mnist"),
    }
}
