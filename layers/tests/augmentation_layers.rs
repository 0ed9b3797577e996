//! Keras' augmentation layers: identity at inference, random (and seeded) in training,
//! batched per image, saved and loaded with the model, bad options named.

use convkit_layers::layers::preprocessing::RandomFlipConfig;
use convkit_layers::prelude::*;
use convkit_layers::LayerCommon;
use convkit_tensor::tch::{Device, Kind, Tensor};

/// libtorch's generator is process-wide: tests that draw from it take turns.
fn rng_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn batch() -> Tensor {
    Tensor::rand([6, 3, 10, 12], (Kind::Float, Device::Cpu)) * 255.0
}

fn model() -> Sequential {
    let mut m = Sequential::new();
    m.add(RandomFlip::new(FlipMode::Horizontal).input_shape([3, 10, 12]))
        .unwrap();
    m.add(RandomRotation::new(0.1)).unwrap();
    m.add(RandomZoom::new(0.2)).unwrap();
    m.add(RandomTranslation::new(0.1, 0.1)).unwrap();
    m.add(RandomContrast::new(0.3)).unwrap();
    m.add(Rescaling::new(1.0 / 255.0)).unwrap();
    m
}

#[test]
fn identity_at_inference_random_and_seeded_in_training() {
    let _rng = rng_lock();
    let m = model();
    let x = batch();
    let y = m.forward(&x, false).unwrap();
    assert!(
        y.allclose(&(&x / 255.0), 1e-6, 1e-6, false),
        "inference only rescales"
    );
    convkit_tensor::seed::set_seed(3);
    let a = m.forward(&x, true).unwrap();
    convkit_tensor::seed::set_seed(3);
    let b = m.forward(&x, true).unwrap();
    assert!(a.equal(&b), "same seed, same augmentation");
    assert!(
        !a.allclose(&(&x / 255.0), 1e-3, 1e-3, false),
        "training augments"
    );
    // per image: images of one batch get different transforms
    let same = x.get(0).unsqueeze(0).repeat([4, 1, 1, 1]);
    let out = m.forward(&same, true).unwrap();
    assert!(!out.get(0).allclose(&out.get(1), 1e-4, 1e-4, false));
}

#[test]
fn random_flip_mirrors_whole_images() {
    let _rng = rng_lock();
    let mut m = Sequential::new();
    m.add(RandomFlip::new(FlipMode::Horizontal).input_shape([3, 10, 12]))
        .unwrap();
    let x = batch();
    let y = m.forward(&x, true).unwrap();
    let mirrored = x.flip([3]);
    for i in 0..6 {
        let (yi, xi, mi) = (y.get(i), x.get(i), mirrored.get(i));
        assert!(
            yi.equal(&xi) || yi.equal(&mi),
            "image {i} is either kept or mirrored"
        );
    }
}

#[test]
fn zero_factors_are_identities_and_contrast_keeps_the_mean() {
    let _rng = rng_lock();
    let x = batch();
    let mut m = Sequential::new();
    m.add(RandomRotation::new(0.0).input_shape([3, 10, 12]))
        .unwrap();
    m.add(RandomZoom::new(0.0)).unwrap();
    m.add(RandomTranslation::new(0.0, 0.0)).unwrap();
    m.add(RandomContrast::new(0.0)).unwrap();
    let y = m.forward(&x, true).unwrap();
    assert!(y.allclose(&x, 1e-3, 1e-2, false));
    // contrast scales around each channel's mean: the mean stays (no clipping here)
    let flat = Tensor::full([2, 3, 4, 4], 100.0, (Kind::Float, Device::Cpu))
        + Tensor::rand([2, 3, 4, 4], (Kind::Float, Device::Cpu)) * 10.0;
    let mut c = Sequential::new();
    c.add(RandomContrast::new(0.5).input_shape([3, 4, 4]))
        .unwrap();
    let out = c.forward(&flat, true).unwrap();
    let m_in = flat.mean_dim(&[2i64, 3][..], false, Kind::Float);
    let m_out = out.mean_dim(&[2i64, 3][..], false, Kind::Float);
    assert!(m_in.allclose(&m_out, 1e-4, 1e-3, false));
}

#[test]
fn saved_and_loaded_with_the_model() {
    let _rng = rng_lock();
    let dir = tempfile::tempdir().unwrap();
    let mut m = model();
    m.add(Flatten::new()).unwrap();
    m.add(Dense::new(2).activation(Activation::Softmax))
        .unwrap();
    save_model(&m, dir.path()).unwrap();
    let back = load_model(dir.path(), Device::Cpu).unwrap();
    assert_eq!(back.architecture(), m.architecture());
    let names: Vec<String> = back
        .layers()
        .iter()
        .map(|l| l.class_name().to_string())
        .collect();
    assert_eq!(
        &names[..6],
        [
            "RandomFlip",
            "RandomRotation",
            "RandomZoom",
            "RandomTranslation",
            "RandomContrast",
            "Rescaling"
        ]
    );
    let x = batch();
    assert!(back.forward(&x, false).unwrap().allclose(
        &m.forward(&x, false).unwrap(),
        1e-6,
        1e-6,
        false
    ));
}

#[test]
fn bad_options_name_the_layer() {
    let _rng = rng_lock();
    let mut m = Sequential::new();
    let e = m
        .add(
            RandomFlip::from_config(RandomFlipConfig {
                common: LayerCommon::new(),
                mode: "diagonal".into(),
            })
            .input_shape([3, 8, 8]),
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("random_flip") && e.contains("diagonal"), "{e}");
    let mut m = Sequential::new();
    let e = m
        .add(
            RandomRotation::new(0.1)
                .fill_mode("mirror", 0.0)
                .input_shape([3, 8, 8]),
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("fill_mode"), "{e}");
    let mut m = Sequential::new();
    m.add(RandomZoom::new(0.1).input_shape([3, 8, 8])).unwrap();
    let e = m
        .forward(&Tensor::zeros([2, 8, 8], (Kind::Float, Device::Cpu)), true)
        .unwrap_err()
        .to_string();
    assert!(e.contains("random_zoom"), "{e}");
}
