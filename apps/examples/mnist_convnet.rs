//! The book's first convnet (Chollet, *Deep Learning with Python*, listings 8.1–8.4): MNIST
//! digits, a stack of Conv2D and MaxPooling2D layers, a dense classifier.
//!
//! ```sh
//! cargo run --release -p convkit-apps --example mnist_convnet -- [DATA_DIR] [TRAIN_LIMIT] [EPOCHS]
//! ```
//! `DATA_DIR` holds the four MNIST IDX files (`scripts/run mnist` puts them in
//! `datasets/mnist`). A smaller `TRAIN_LIMIT` and fewer `EPOCHS` make a quick run.

// An example program reports to its user on stdout.
#![allow(clippy::print_stdout)]

use convkit::prelude::*;

fn main() -> convkit::Result<()> {
    let mut args = std::env::args().skip(1);
    let data_dir = args.next().unwrap_or_else(|| "datasets/mnist".into());
    let train_limit: i64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(60_000);
    let epochs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);

    // The data: images as floats in [0, 1], labels one-hot encoded.
    let mnist = Mnist::load(data_dir.as_ref())?;
    let n = train_limit.min(mnist.train_images.size()[0]);
    let train_images = mnist.train_images.narrow(0, 0, n).to_kind(Kind::Float) / 255.0;
    let train_labels = to_categorical(&mnist.train_labels.narrow(0, 0, n), 10)?;
    let test_images = mnist.test_images.to_kind(Kind::Float) / 255.0;
    let test_labels = to_categorical(&mnist.test_labels, 10)?;

    // Listing 8.1: the model. Shapes are NCHW: one 28x28 gray channel.
    let mut model = Sequential::new();
    model.add(Conv2D::new(32, 3).activation(Activation::Relu).input_shape([1, 28, 28]))?;
    model.add(MaxPooling2D::new(2))?;
    model.add(Conv2D::new(64, 3).activation(Activation::Relu))?;
    model.add(MaxPooling2D::new(2))?;
    model.add(Conv2D::new(128, 3).activation(Activation::Relu))?;
    model.add(Flatten::new())?;
    model.add(Dense::new(10).activation(Activation::Softmax))?;
    println!("{}", model.summary());

    // Listing 8.3: compile and fit, holding out 20% for validation.
    model.compile("rmsprop", "categorical_crossentropy", ["accuracy"])?;
    let history = model.fit(
        &train_images,
        &train_labels,
        FitOptions::new().epochs(epochs).batch_size(64).validation_split(0.2),
    )?;
    println!("validation accuracy by epoch: {:?}", history.get("val_accuracy"));

    // Listing 8.4: evaluate on the test set.
    let logs = model.evaluate(&test_images, &test_labels, 256)?;
    println!("test accuracy: {:.3}", logs.get("accuracy").unwrap_or(f64::NAN));

    // Save, load, predict: the loaded model gives the same probabilities.
    let dir = std::env::temp_dir().join("convkit-mnist-example");
    model.save(&dir)?;
    let loaded = load_model(&dir, Device::Cpu)?;
    let probabilities = loaded.predict(&test_images.narrow(0, 0, 10), 10)?;
    let predicted = probabilities.argmax(1, false);
    println!("first ten test digits predicted as {:?}", Vec::<i64>::try_from(&predicted)?);
    Ok(())
}
