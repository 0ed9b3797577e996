//! `convkit activations`: for one image, every channel of every convolution and pooling
//! layer (or of `--layers`), standardised and tiled 16 per row in viridis, one PNG per layer
//! named after it, plus one channel alone as a heat map.

use std::path::PathBuf;

use clap::Args;
use convkit_viz::activations::{channel_image, layer_activations, save_activation_grids};

use crate::model_arg::{LoadedModel, ModelArgs};
use crate::ranges;
use crate::runtime::{claim_out_dir, RuntimeArgs};
use convkit_layers::ModelApi;

/// Arguments of `convkit activations`.
#[derive(Args, Debug)]
pub struct ActivationsArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Layers to draw, comma-separated (default: every convolution and pooling layer).
    #[arg(long, value_delimiter = ',')]
    layers: Option<Vec<String>>,
    /// Channel drawn alone (of the first drawn layer) as `channel_<layer>_<k>.png`.
    #[arg(long, default_value_t = 0, value_parser = ranges::count(0, 65_535))]
    channel: usize,
    /// Smallest side of a tile in the grids (small maps are enlarged, nearest neighbour).
    #[arg(long, default_value_t = 32, value_parser = ranges::count(1, 1_024))]
    min_tile: usize,
    /// Output directory.
    #[arg(long, default_value = "runs/activations")]
    out: PathBuf,
    /// The image.
    image: PathBuf,
    #[command(flatten)]
    rt: RuntimeArgs,
}

/// Runs the command.
pub fn run(args: ActivationsArgs) -> anyhow::Result<()> {
    let device = args.rt.setup()?;
    let _lock = claim_out_dir(&args.out)?;
    let m = LoadedModel::load(&args.model, device)?;
    let x = m.preprocess(&m.load_raw(std::slice::from_ref(&args.image))?)?;
    let predicted = m.describe(&m.model.predict(&x, 1)?, 3)?;
    if let Some(top) = predicted.first() {
        println!("{}: predicted {}", args.image.display(), top.join(", "));
    }
    let acts = layer_activations(m.model.as_ref(), &x, args.layers.as_deref())?;
    let (first, act) = acts
        .first()
        .ok_or_else(|| anyhow::anyhow!("the model has no convolution or pooling layer to draw"))?;
    let single = args
        .out
        .join(format!("channel_{first}_{}.png", args.channel));
    convkit_viz::save_png(&channel_image(act, args.channel, 256)?, &single)?;
    let paths = save_activation_grids(&acts, &args.out, args.min_tile)?;
    for ((name, act), path) in acts.iter().zip(&paths) {
        println!("{name:<28} {:?} -> {}", act.size(), path.display());
    }
    println!(
        "channel {} of {first} -> {}",
        args.channel,
        single.display()
    );
    Ok(())
}
