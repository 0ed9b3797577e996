//! Training a convnet from scratch on a small image folder, with data augmentation, dropout
//! and callbacks (Chollet, *Deep Learning with Python*, 2nd ed., listings 8.6–8.16: cats vs
//! dogs).
//!
//! ```sh
//! cargo run --release -p convkit-apps --example image_folder_augmentation -- DATA [EPOCHS]
//! ```
//! `DATA` holds `train/` and `validation/`, one subfolder per class (`scripts/run catdog`
//! builds one in `runs/catdog/data`; Kaggle's dogs-vs-cats split as in the book works too).

// An example program reports to its user on stdout.
#![allow(clippy::print_stdout)]

use std::sync::Arc;

use convkit::prelude::*;

fn main() -> convkit::Result<()> {
    let mut args = std::env::args().skip(1);
    let data = std::path::PathBuf::from(args.next().unwrap_or_else(|| "runs/catdog/data".into()));
    let epochs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(30);

    // The book's ImageDataGenerator: rotations, shifts, shear, zoom, flips, and rescale 1/255.
    let augmented = ImageFolderOptions::flow_from_directory()
        .target_size(150, 150)
        .batch_size(32)
        .label_mode(LabelMode::Binary)
        .augment(Arc::new(ImageDataGenerator::book()));
    let mut train = ImageFolder::open(data.join("train"), augmented)?;
    let plain = ImageFolderOptions::flow_from_directory()
        .target_size(150, 150)
        .batch_size(32)
        .label_mode(LabelMode::Binary)
        .rescale(1.0 / 255.0);
    let validation = ImageFolder::open(data.join("validation"), plain)?;
    println!("{}", train.description()); // Found 2000 images belonging to 2 classes.

    // The model: four conv/pool blocks, dropout, a sigmoid classifier.
    let mut model = Sequential::new();
    model.add(Conv2D::new(32, 3).activation(Activation::Relu).input_shape([3, 150, 150]))?;
    model.add(MaxPooling2D::new(2))?;
    for filters in [64, 128, 128] {
        model.add(Conv2D::new(filters, 3).activation(Activation::Relu))?;
        model.add(MaxPooling2D::new(2))?;
    }
    model.add(Flatten::new())?;
    model.add(Dropout::new(0.5))?;
    model.add(Dense::new(512).activation(Activation::Relu))?;
    model.add(Dense::new(1).activation(Activation::Sigmoid))?;
    model.compile(RMSprop::new().learning_rate(1e-4), "binary_crossentropy", ["accuracy"])?;

    // Keep the best model, stop when validation stops improving, survive a kill.
    let options = FitOptions::new()
        .epochs(epochs)
        .validation_source(validation)
        .callback(ModelCheckpoint::new("runs/example/best").save_best_only(true))
        .callback(EarlyStopping::new("val_loss").patience(10))
        .callback(BackupAndRestore::new("runs/example/backup"));
    let history = model.fit_source(&mut train, options)?;
    println!(
        "best val_loss {:?}",
        history.get("val_loss").map(|v| v.iter().cloned().fold(f64::INFINITY, f64::min))
    );
    Ok(())
}
