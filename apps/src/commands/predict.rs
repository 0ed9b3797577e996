//! `convkit predict`: classify images with a saved model or a pretrained application.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use convkit_layers::applications::{decode_predictions, Pooling};
use convkit_layers::prelude::*;
use convkit_tensor::tch::Kind;

use crate::pretrained::{load_images, weights_path, Base};
use crate::runtime::RuntimeArgs;

/// Arguments of `convkit predict`.
#[derive(Args, Debug)]
pub struct PredictArgs {
    /// A saved model directory, or an application: efficientnet-lite0, vgg16, xception.
    #[arg(long)]
    model: String,
    /// Weights file of an application (.pth or .safetensors).
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Classes to print per image.
    #[arg(long, default_value_t = 5)]
    top: usize,
    /// Scale applied to [0, 255] pixels before a saved model (convkit's trainings use 1/255).
    #[arg(long, default_value_t = 1.0 / 255.0)]
    rescale: f64,
    /// Images to classify.
    #[arg(required = true)]
    images: Vec<PathBuf>,
    #[command(flatten)]
    rt: RuntimeArgs,
}

/// Runs the command.
pub fn run(args: PredictArgs) -> anyhow::Result<()> {
    let device = args.rt.setup()?;
    let dir = PathBuf::from(&args.model);
    if dir.join("model.json").is_file() {
        let model = load_model(&dir, device)?;
        let shape = model
            .input_shape()
            .context("the saved model has no input shape")?
            .to_vec();
        anyhow::ensure!(
            shape.len() == 3 && shape[1] == shape[2],
            "predict takes square image models, this one takes {shape:?}"
        );
        let mut x = load_images(&args.images, shape[1])?;
        if shape[0] == 1 {
            x = x.f_mean_dim([1].as_slice(), true, Kind::Float)?;
        }
        let probs = model.predict(&x.f_mul_scalar(args.rescale)?, 8)?;
        for (i, path) in args.images.iter().enumerate() {
            let row = probs.f_get(i as i64)?;
            let n = row.size()[0];
            if n == 1 {
                println!("{}: {:.4}", path.display(), row.f_double_value(&[0])?);
                continue;
            }
            let (v, idx) = row.f_topk((args.top as i64).min(n), 0, true, true)?;
            let parts: Vec<String> = (0..v.size()[0])
                .map(|j| {
                    format!(
                        "class {} {:.4}",
                        idx.int64_value(&[j]),
                        v.double_value(&[j])
                    )
                })
                .collect();
            println!("{}: {}", path.display(), parts.join(", "));
        }
        return Ok(());
    }
    let base: Base = args.model.parse()?;
    let weights = weights_path(base, args.weights.as_deref())?;
    let mut model = base.build(true, base.imagenet_size(), Pooling::None, device)?;
    base.load_weights(&mut model, &weights)?;
    let x = load_images(&args.images, base.imagenet_size())?;
    let x = base.preprocess(Some(&weights), &x)?;
    let probs = model.predict(&x, 8)?;
    for (path, preds) in args
        .images
        .iter()
        .zip(decode_predictions(&probs, args.top)?)
    {
        println!("{}:", path.display());
        for p in preds {
            println!(
                "  {:>6.2}%  {} ({})",
                p.probability * 100.0,
                p.name,
                p.index
            );
        }
    }
    Ok(())
}
