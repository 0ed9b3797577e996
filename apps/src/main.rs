//! `convkit`: Keras-style deep learning for computer vision, one subcommand per workflow.
#![allow(clippy::print_stdout)]
// The binary, too, reports errors instead of panicking.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod commands;
mod error_report;
mod model_arg;
mod ranges;
mod ranks;
mod runtime;

use clap::{Parser, Subcommand};

/// Keras-style deep learning for computer vision on libtorch.
#[derive(Parser)]
#[command(name = "convkit", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train an image classifier on a folder of class subfolders (from scratch or from a
    /// pretrained base), with its report, pictures and best model.
    Train(Box<commands::train::TrainArgs>),
    /// The finance chapter's plant-seedlings workflow: baseline, pretrained base with
    /// imgaug, cached features, background removal, and the Kaggle submission.
    Plants(commands::plants::PlantsArgs),
    /// Train and evaluate the book's MNIST convnet.
    Mnist(commands::mnist::MnistArgs),
    /// The book's small-dataset experiment: a convnet from scratch, then with augmentation.
    Catdog(commands::catdog::CatdogArgs),
    /// Build train/ validation/ test/ folders from an original dataset.
    Split(commands::split::SplitArgs),
    /// Data augmentation tools (preview).
    Augment(commands::augment_preview::AugmentArgs),
    /// Download MNIST or Keras' ImageNet weight files, verifying digests.
    Fetch(commands::fetch::FetchArgs),
    /// Measure the image loader and the per-image transforms.
    Bench(commands::bench::BenchArgs),
    /// Fast feature extraction: cache a pretrained base's features, train a dense head.
    Features(commands::features::FeaturesArgs),
    /// Transfer learning: frozen pretrained base with augmentation, then fine-tune its top block.
    Finetune(commands::finetune::FinetuneArgs),
    /// Image segmentation with Conv2DTranspose: train, score mean IoU, write predicted masks.
    Segment(commands::segment::SegmentArgs),
    /// Classify images with a saved model or a pretrained application.
    Predict(commands::predict::PredictArgs),
    /// Grad-CAM heat maps of a class over images (heat map and overlay PNGs).
    Gradcam(commands::gradcam::GradcamArgs),
    /// Intermediate activations of one image: one channel grid PNG per layer.
    Activations(commands::activations::ActivationsArgs),
    /// Filter patterns (or a class) by gradient ascent in input space, as a PNG grid.
    Filters(commands::filters::FiltersArgs),
    /// A trained model's loss and metrics on a folder of class subfolders (Keras' evaluate).
    Evaluate(commands::evaluate::EvaluateArgs),
    /// Write a model as a Keras 3 .keras archive (or a convkit model directory).
    Export(commands::export::ExportArgs),
    /// Training curves from a saved history.json (PNG or SVG, optionally smoothed).
    Plot(commands::plot::PlotArgs),
}

fn main() {
    runtime::init_logging();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => commands::train::run(*args),
        Command::Mnist(args) => commands::mnist::run(args),
        Command::Plants(args) => commands::plants::run(args),
        Command::Fetch(args) => commands::fetch::run(args),
        Command::Split(args) => commands::split::run(args),
        Command::Augment(args) => commands::augment_preview::run(args),
        Command::Catdog(args) => commands::catdog::run(args),
        Command::Bench(args) => commands::bench::run(args),
        Command::Predict(args) => commands::predict::run(args),
        Command::Export(args) => commands::export::run(args),
        Command::Evaluate(args) => commands::evaluate::run(args),
        Command::Features(args) => commands::features::run(args),
        Command::Finetune(args) => commands::finetune::run(args),
        Command::Segment(args) => commands::segment::run(args),
        Command::Gradcam(args) => commands::gradcam::run(args),
        Command::Activations(args) => commands::activations::run(args),
        Command::Filters(args) => commands::filters::run(args),
        Command::Plot(args) => commands::plot::run(args),
    };
    if let Err(e) = result {
        eprintln!("error: {}", error_report::error_line(&e));
        std::process::exit(1);
    }
}
