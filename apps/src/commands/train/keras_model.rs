//! `train --model FILE.keras` on a model Keras saved: what `convkit train` records of a
//! classifier ([`ClassifierInfo`]) made from the model and the folder it is to train on. An
//! archive convkit exported carries its own info and does not come here.

use std::path::Path;

use convkit::classifier_info::{ClassifierInfo, Preprocessing, CLASSIFIER_FORMAT};
use convkit_layers::prelude::Loss;
use convkit_layers::saving::keras_archive::load_keras_model;
use convkit_tensor::tch::Device;

use super::dataset::Splits;
use super::TrainArgs;
use crate::model_arg::starts_with_rescaling;

/// The classifier info of the Keras model at `path` trained on `splits`: its input size,
/// its labels from its output (one sigmoid unit: binary; else one unit per class, categorical
/// when it was compiled with categorical crossentropy, sparse otherwise), its pixels in
/// [0, 255] when it starts with `Rescaling` (the book's models), else scaled by 1/255, unless
/// `--preprocess` says otherwise.
pub fn keras_classifier_info(
    path: &Path,
    args: &TrainArgs,
    splits: &Splits,
) -> anyhow::Result<ClassifierInfo> {
    let model = load_keras_model(path, Device::Cpu)?;
    let shape = model.input_shape().unwrap_or_default().to_vec();
    let [3, h, w] = shape[..] else {
        anyhow::bail!(
            "--model {}: train takes models of RGB images (3, H, W); this one takes {shape:?}",
            path.display()
        );
    };
    let classes = splits.class_names.len();
    let units = model.output_shape().and_then(|s| s.last().copied());
    let loss = model
        .compiled()
        .and_then(|c| c.outputs.first().map(|o| o.loss));
    let label_mode = match (units, loss) {
        (Some(1), _) if classes == 2 => "binary",
        (Some(n), Some(Loss::CategoricalCrossentropy { .. })) if n == classes as i64 => {
            "categorical"
        }
        (Some(n), _) if n == classes as i64 => "sparse",
        _ => anyhow::bail!(
            "--model {}: the model ends in {} unit(s), the folder has {classes} classes ({}); \
             a classifier for them ends in {}",
            path.display(),
            units.map_or("?".into(), |u| u.to_string()),
            splits.class_names.join(", "),
            if classes == 2 {
                "1 sigmoid unit or 2 softmax units".to_string()
            } else {
                format!("{classes} softmax units")
            }
        ),
    };
    let scale = if starts_with_rescaling(model.as_ref()) {
        1.0
    } else {
        1.0 / 255.0
    };
    Ok(ClassifierInfo {
        format: CLASSIFIER_FORMAT.into(),
        class_names: splits.class_names.clone(),
        label_mode: label_mode.into(),
        image_size: [h as usize, w as usize],
        interpolation: args.interpolation.clone(),
        background_removal: args.background_removal,
        preprocessing: match args.preprocess {
            Some(mode) => Preprocessing::Mode { mode },
            None => Preprocessing::Rescale { scale },
        },
    })
}
