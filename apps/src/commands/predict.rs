//! `convkit predict`: classify images with a saved model or a pretrained application.

use std::path::PathBuf;

use clap::Args;
use convkit_layers::ModelApi;

use crate::model_arg::{LoadedModel, ModelArgs};
use crate::ranges;
use crate::runtime::RuntimeArgs;

/// Arguments of `convkit predict`.
#[derive(Args, Debug)]
pub struct PredictArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Classes to print per image.
    #[arg(long, default_value_t = 5, value_parser = ranges::count(1, 1_000))]
    top: usize,
    /// Images to classify.
    #[arg(required = true)]
    images: Vec<PathBuf>,
    #[command(flatten)]
    rt: RuntimeArgs,
}

/// Runs the command.
pub fn run(args: PredictArgs) -> anyhow::Result<()> {
    let device = args.rt.setup()?;
    let m = LoadedModel::load(&args.model, device)?;
    let x = m.preprocess(&m.load_raw(&args.images)?)?;
    let probs = m.model.predict(&x, 8)?;
    for (path, lines) in args.images.iter().zip(m.describe(&probs, args.top)?) {
        println!("{}:", path.display());
        for line in lines {
            println!("  {line}");
        }
    }
    Ok(())
}
