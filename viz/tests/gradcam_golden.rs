//! Grad-CAM and Grad-CAM++ heat maps equal the PyTorch reference within 1e-4.
//!
//! Fixture: `scripts/fixtures/make_gradcam_golden.py` (its docstring gives the model, the
//! input and the reference formulas: the book's Grad-CAM, `pytorch-grad-cam`'s
//! Grad-CAM++), run with torch 2.13.0 into `viz/tests/fixtures/gradcam_golden.safetensors`.

use convkit_layers::prelude::*;
use convkit_tensor::tch::Tensor;
use convkit_viz::gradcam::{CamMethod, GradCam};
use convkit_viz::Error;

fn fixture() -> Vec<(String, Tensor)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/gradcam_golden.safetensors"
    );
    Tensor::read_safetensors(path).unwrap()
}

fn get(f: &[(String, Tensor)], name: &str) -> Tensor {
    f.iter()
        .find(|(n, _)| n == name)
        .map(|(_, t)| t.shallow_clone())
        .unwrap_or_else(|| panic!("{name} missing from the fixture"))
}

/// The fixture's model, with its weights.
fn model(f: &[(String, Tensor)]) -> Sequential {
    let mut m = Sequential::new();
    m.add(
        Conv2D::new(4, 3)
            .activation(Activation::Relu)
            .input_shape([3, 16, 16]),
    )
    .unwrap();
    m.add(MaxPooling2D::new(2)).unwrap();
    m.add(
        Conv2D::new(6, 3)
            .activation(Activation::Relu)
            .padding(Padding::Same),
    )
    .unwrap();
    m.add(Flatten::new()).unwrap();
    m.add(Dense::new(3).activation(Activation::Softmax))
        .unwrap();
    let weights: Vec<(String, Tensor)> = f
        .iter()
        .filter(|(n, _)| n.contains('/'))
        .map(|(n, t)| (n.clone(), t.shallow_clone()))
        .collect();
    m.set_weights(&weights).unwrap();
    m
}

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.size(), b.size());
    f64::try_from((a - b).abs().max()).unwrap()
}

#[test]
fn heatmaps_match_the_pytorch_reference() {
    let f = fixture();
    let m = model(&f);
    let x = get(&f, "x");
    let probs = m.predict(&x, 2).unwrap();
    assert!(max_diff(&probs, &get(&f, "probabilities")) < 1e-5);

    let cam = GradCam::new(&m, Some("conv2d_1")).unwrap();
    let top = cam.compute(&x, None).unwrap();
    let expected_top: Vec<i64> = Vec::try_from(get(&f, "top_classes")).unwrap();
    assert_eq!(top.classes, expected_top);
    let d = max_diff(&top.heatmaps, &get(&f, "gradcam_top"));
    assert!(d < 1e-4, "Grad-CAM differs by {d}");

    let class1 = cam.compute(&x, Some(&[1])).unwrap();
    let d = max_diff(&class1.heatmaps, &get(&f, "gradcam_class1"));
    assert!(d < 1e-4, "Grad-CAM of class 1 differs by {d}");
    // A different class gives a different map: the comparison is not vacuous.
    assert!(max_diff(&class1.heatmaps, &top.heatmaps) > 1e-2);

    let pp = GradCam::new(&m, None)
        .unwrap()
        .method(CamMethod::GradCamPlusPlus);
    assert_eq!(pp.layer(), "conv2d_1", "default: the last spatial layer");
    let r = pp.compute(&x, None).unwrap();
    let d = max_diff(&r.heatmaps, &get(&f, "gradcampp_top"));
    assert!(d < 1e-4, "Grad-CAM++ differs by {d}");
}

#[test]
fn bad_requests_are_clear_errors() {
    let f = fixture();
    let m = model(&f);
    let x = get(&f, "x");
    let err = GradCam::new(&m, Some("conv9")).err().unwrap();
    assert!(matches!(err, Error::UnknownLayer { .. }));
    let text = err.to_string();
    assert!(text.contains("conv2d, conv2d_1"), "{text}");
    let err = GradCam::new(&m, Some("dense")).err().unwrap().to_string();
    assert!(
        err.contains("not a spatial") && err.contains("conv2d_1"),
        "{err}"
    );
    let cam = GradCam::new(&m, None).unwrap();
    let err = cam.compute(&x, Some(&[3])).unwrap_err().to_string();
    assert!(
        err.contains("class index 3 is out of range: the model has 3 classes"),
        "{err}"
    );
    let err = cam.compute(&x, Some(&[0, 1, 2])).unwrap_err().to_string();
    assert!(err.contains("3 class indices given for 2 images"), "{err}");
}
