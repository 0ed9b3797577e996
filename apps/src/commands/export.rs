//! `convkit export`: write a model (a saved model directory, a `.keras` file or a pretrained
//! application with its weights) as a Keras 3 `.keras` archive that
//! `keras.models.load_model` opens, as legacy Keras HDF5 weights (`model.load_weights`), or
//! as a convkit model directory.
//!
//! ```text
//! convkit export --model runs/flowers --keras flowers.keras
//! convkit export --model vgg16 --include-top false --pooling avg --keras vgg16_notop.keras
//! convkit export --model mnist.keras --dir models/mnist
//! convkit export --model runs/finetune --h5 finetuned_weights.h5
//! ```

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use convkit_layers::saving::save_model_with_info;

use crate::model_arg::{LoadedModel, ModelArgs};
use crate::runtime::RuntimeArgs;

/// Arguments of `convkit export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Write a Keras 3 `.keras` archive here (architecture, weights in Keras' layouts, compile
    /// configuration and optimizer state; a classifier's class names and preprocessing are
    /// kept in its metadata.json).
    #[arg(long, required_unless_present_any = ["dir", "h5"])]
    keras: Option<PathBuf>,
    /// Write the weights here for Keras' `model.load_weights`: a name ending in `.weights.h5`
    /// gets Keras 3's layout (`model.save_weights`'), any other a legacy HDF5 file (the
    /// layout of the files `keras.applications` downloads).
    #[arg(long)]
    h5: Option<PathBuf>,
    /// Write a convkit model directory here (model.json, model.safetensors...).
    #[arg(long)]
    dir: Option<PathBuf>,
    #[command(flatten)]
    rt: RuntimeArgs,
}

/// Runs `convkit export`.
pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let device = args.rt.setup()?;
    if let Some(path) = &args.keras {
        anyhow::ensure!(
            convkit_layers::saving::keras_archive::is_keras_archive(path),
            "--keras {}: the file name must end in .keras (Keras 3 refuses other names)",
            path.display()
        );
    }
    let loaded = LoadedModel::load(&args.model, device)?;
    let info = loaded.info_json();
    let model = loaded.model.as_ref();
    if let Some(path) = &args.h5 {
        let keras3 = path.to_string_lossy().ends_with(".weights.h5");
        if keras3 {
            convkit_layers::saving::keras_archive::save_keras_weights_h5(model, path)
        } else {
            convkit_layers::saving::export::save_keras_h5(model, path)
        }
        .with_context(|| format!("exporting {} to {}", args.model.model, path.display()))?;
        println!(
            "{}: the weights of {} ({} layers)",
            path.display(),
            model.name(),
            model.layers().len()
        );
    }
    for out in [&args.keras, &args.dir].into_iter().flatten() {
        save_model_with_info(model, out, info.as_ref())
            .with_context(|| format!("exporting {} to {}", args.model.model, out.display()))?;
        println!(
            "{}: {} ({} parameters)",
            out.display(),
            model.name(),
            model.count_params()
        );
    }
    Ok(())
}
