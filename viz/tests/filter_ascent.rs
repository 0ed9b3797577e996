//! Gradient ascent in input space raises the filter's mean activation (or the class output)
//! at every step, for both of the book's recipes, on a fixed seed; and the picture helpers
//! give the sizes the book's figures have.

use convkit_layers::prelude::*;
use convkit_viz::filters::{
    deprocess_image, filter_grid, gradient_ascent, AscentConfig, AscentTarget,
};

/// The tests seed and draw from libtorch's one global generator (initialization, start
/// images): they take turns, or their draws interleave and the "fixed seed" is not fixed.
fn rng_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A small random convnet on 3x32x32 images: conv (relu) -> pool -> conv -> GAP -> dense.
fn model() -> Sequential {
    convkit_tensor::seed::set_seed(7);
    let mut m = Sequential::new();
    m.add(
        Conv2D::new(8, 3)
            .activation(Activation::Relu)
            .padding(Padding::Same)
            .input_shape([3, 32, 32]),
    )
    .unwrap();
    m.add(MaxPooling2D::new(2)).unwrap();
    m.add(Conv2D::new(6, 3).activation(Activation::Relu))
        .unwrap();
    m.add(GlobalAveragePooling2D::new()).unwrap();
    m.add(Dense::new(4)).unwrap();
    m
}

/// Every image whose objective starts above zero rises at every step (a filter behind a
/// ReLU that is zero on the whole start image has no gradient and stays, as in Keras, where
/// it is); at least `min_live` images are checked.
fn assert_rising(objective: &[Vec<f64>], what: &str, min_live: usize) {
    let live: Vec<usize> = (0..objective[0].len())
        .filter(|&i| objective[0][i] > 0.0 || objective[1][i] != objective[0][i])
        .collect();
    assert!(
        live.len() >= min_live,
        "{what}: only {} of {} filters respond to the start image",
        live.len(),
        objective[0].len()
    );
    for i in live {
        for (step, w) in objective.windows(2).enumerate() {
            assert!(
                w[1][i] > w[0][i],
                "{what}, image {i}: the objective fell or stalled at step {step}: {} -> {}",
                w[0][i],
                w[1][i]
            );
        }
    }
}

#[test]
fn both_recipes_raise_every_filter_at_every_step() {
    let _rng = rng_lock();
    let m = model();
    for (name, mut cfg) in [
        ("first edition", AscentConfig::first_edition()),
        ("second edition", AscentConfig::second_edition()),
    ] {
        cfg.size = 32;
        cfg.display_crop = 4;
        cfg.step_size /= 10.0;
        for layer in ["conv2d", "conv2d_1"] {
            let target = AscentTarget::Filters {
                layer: layer.into(),
                filters: (0..6).collect(),
            };
            let r = gradient_ascent(&m, &target, &cfg).unwrap();
            assert_eq!(r.objective.len(), cfg.steps + 1);
            assert_rising(&r.objective, &format!("{name}, {layer}"), 2);
        }
        let r = gradient_ascent(&m, &AscentTarget::Classes(vec![0, 3]), &cfg).unwrap();
        assert_rising(&r.objective, &format!("{name}, classes"), 2);
    }
}

#[test]
fn the_same_seed_gives_the_same_patterns() {
    let _rng = rng_lock();
    let m = model();
    let mut cfg = AscentConfig::second_edition().with_regularisers(2, 0.05, 5.0);
    cfg.size = 32;
    cfg.steps = 5;
    let target = AscentTarget::Filters {
        layer: "conv2d_1".into(),
        filters: vec![0, 1],
    };
    let a = gradient_ascent(&m, &target, &cfg).unwrap();
    let b = gradient_ascent(&m, &target, &cfg).unwrap();
    assert!(a.images.equal(&b.images));
    cfg.seed += 1;
    let c = gradient_ascent(&m, &target, &cfg).unwrap();
    assert!(!a.images.equal(&c.images));
}

#[test]
fn grids_and_deprocessing_have_the_books_sizes_and_errors_are_clear() {
    let _rng = rng_lock();
    let m = model();
    let mut cfg = AscentConfig::second_edition();
    cfg.size = 32;
    cfg.steps = 3;
    cfg.display_crop = 4;
    let (grid, r) = filter_grid(&m, "conv2d", 8, 4, 5, &cfg).unwrap();
    // 8 patterns of 32 - 2 * 4 = 24 pixels, 4 per row, 5-pixel margins.
    assert_eq!(grid.dimensions(), (4 * 29 + 5, 2 * 29 + 5));
    let img = deprocess_image(&r.images.get(0), 4).unwrap();
    assert_eq!(img.dimensions(), (24, 24));

    let err = gradient_ascent(
        &m,
        &AscentTarget::Filters {
            layer: "conv2d".into(),
            filters: vec![8],
        },
        &cfg,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("filter 8 is out of range: layer 'conv2d' has 8 channels"),
        "{err}"
    );
    let err = gradient_ascent(&m, &AscentTarget::Classes(vec![4]), &cfg)
        .unwrap_err()
        .to_string();
    assert!(err.contains("class index 4 is out of range"), "{err}");
    let err = filter_grid(&m, "dense", 4, 4, 5, &cfg)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not a spatial") && err.contains("conv2d, conv2d_1"),
        "{err}"
    );
    let err = filter_grid(&m, "conv7", 4, 4, 5, &cfg)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no layer 'conv7'"), "{err}");
}
