//! Mixed precision against Keras 3 (torch backend) under `mixed_bfloat16`.
//!
//! Fixture: `layers/tests/fixtures/keras_mixed_bfloat16.safetensors`, made by
//! `KERAS_BACKEND=torch .venv/bin/python scripts/fixtures/make_keras_mixed_precision.py`
//! (Keras 3.15.1): Conv2D(6, 3, relu) - BatchNormalization - MaxPooling2D(2) - Conv2D(8, 3,
//! same, relu) - GlobalAveragePooling2D - Dense(16, relu) - Dense(3, softmax, dtype float32)
//! on (8, 12, 12, 2) inputs, its inference output and its variables after 10 `train_on_batch` steps of
//! RMSprop(1e-3) with categorical crossentropy.
//!
//! Tolerances: bfloat16 keeps 8 significant bits (relative spacing 2^-8 = 0.0039), and each
//! layer rounds its inputs, weights and outputs to it, so two implementations that round at
//! slightly different places (oneDNN's
//! bf16 kernels accumulate in float32 but in an order that differs between AMX and AVX-512
//! CPUs) differ by bf16 spacings: outputs within 4e-3 absolute (one spacing at 1.0; measured 0
//! on AMD EPYC, where Keras and convkit run the same libtorch kernels, while the float32
//! model's output is 1.3e-3 away). The first training step's
//! loss is the same computation (within 1e-5); later losses within 1e-2 (measured 8.6e-3 at
//! most: bf16 rounding of the gradients changes the path; Keras' own float32 run of this model
//! leaves its bf16 run by 1.1e-2). RMSprop moves each weight by about the learning rate per
//! step whatever its gradient's size, so where rounding flips the sign of a small gradient the
//! step flips: after 10 steps weights agree within 2e-2 (2 * 10 * lr; measured 9.6e-3, and
//! Keras' float32 and bf16 runs differ by 6.6e-3), while the kernel moved (checked).

use std::collections::HashMap;

use convkit_layers::mixed_precision::DTypePolicy;
use convkit_layers::prelude::*;
use convkit_tensor::tch::{Device, Kind, Tensor};

fn fixtures() -> HashMap<String, Tensor> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/keras_mixed_bfloat16.safetensors"
    );
    Tensor::read_safetensors(path)
        .unwrap()
        .into_iter()
        .collect()
}

fn get(f: &HashMap<String, Tensor>, name: &str) -> Tensor {
    f.get(name)
        .unwrap_or_else(|| panic!("fixture {name} missing"))
        .shallow_clone()
}

/// The fixture's model in convkit, every layer under `policy` but the output layer, in
/// float32 (as Keras' mixed-precision guide advises, and the fixture does).
fn model(policy: DTypePolicy) -> Sequential {
    let mut m = Sequential::new();
    m.add(
        Conv2D::new(6, 3)
            .activation(Activation::Relu)
            .input_shape([2, 12, 12])
            .named("conv")
            .with_dtype(policy),
    )
    .unwrap();
    m.add(BatchNormalization::new().named("bn").with_dtype(policy))
        .unwrap();
    m.add(MaxPooling2D::new(2).with_dtype(policy)).unwrap();
    m.add(
        Conv2D::new(8, 3)
            .padding(Padding::Same)
            .activation(Activation::Relu)
            .named("conv2")
            .with_dtype(policy),
    )
    .unwrap();
    m.add(GlobalAveragePooling2D::new().with_dtype(policy))
        .unwrap();
    m.add(
        Dense::new(16)
            .activation(Activation::Relu)
            .named("dense")
            .with_dtype(policy),
    )
    .unwrap();
    m.add(
        Dense::new(3)
            .activation(Activation::Softmax)
            .named("out")
            .with_dtype(DTypePolicy::Float32),
    )
    .unwrap();
    m
}

/// Keras' variable `layer/var` in convkit's layout (conv kernels (out, in, kh, kw)).
fn keras_to_convkit(t: &Tensor) -> Tensor {
    if t.dim() == 4 {
        t.permute([3, 2, 0, 1]).contiguous()
    } else {
        t.shallow_clone()
    }
}

fn load(m: &mut Sequential, f: &HashMap<String, Tensor>, prefix: &str) {
    for layer in m.layers_mut() {
        let name = layer.name().to_string();
        for p in layer.params_mut() {
            let v = keras_to_convkit(&get(f, &format!("{prefix}/{name}/{}", p.name)));
            convkit_tensor::tch::no_grad(|| p.tensor.shallow_clone().copy_(&v));
        }
    }
}

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a.to_kind(Kind::Double) - b.to_kind(Kind::Double))
        .abs()
        .max()
        .double_value(&[])
}

fn inputs(f: &HashMap<String, Tensor>) -> (Tensor, Tensor) {
    (get(f, "x").permute([0, 3, 1, 2]).contiguous(), get(f, "y"))
}

#[test]
fn forward_matches_keras_mixed_bfloat16() {
    let f = fixtures();
    let mut m = model(DTypePolicy::MixedBfloat16);
    load(&mut m, &f, "init");
    let (x, _) = inputs(&f);
    let y = convkit_tensor::tch::no_grad(|| m.forward(&x, false)).unwrap();
    assert_eq!(y.kind(), Kind::Float, "softmax probabilities in float32");
    for p in m.layers().iter().flat_map(|l| l.params()) {
        assert_eq!(
            p.tensor.kind(),
            Kind::Float,
            "{}: variables stay float32",
            p.name
        );
    }
    let d = max_diff(&y, &get(&f, "predict"));
    assert!(d <= 4e-3, "predictions differ from Keras by {d}");
    // The float32 model's output differs from the bf16 one measurably: the check is not moot.
    let mut full = model(DTypePolicy::Float32);
    load(&mut full, &f, "init");
    let y32 = convkit_tensor::tch::no_grad(|| full.forward(&x, false)).unwrap();
    assert!(
        max_diff(&y32, &y) > 1e-5,
        "bf16 and f32 outputs are identical"
    );
}

#[test]
fn ten_training_steps_match_keras_mixed_bfloat16() {
    let f = fixtures();
    let mut m = model(DTypePolicy::MixedBfloat16);
    load(&mut m, &f, "init");
    m.compile(
        RMSprop::new().learning_rate(1e-3),
        "categorical_crossentropy",
        Vec::<Metric>::new(),
    )
    .unwrap();
    let (x, y) = inputs(&f);
    let keras_losses: Vec<f32> = Vec::try_from(get(&f, "losses")).unwrap();
    let mut losses = vec![];
    for _ in 0..10 {
        let h = m
            .fit(
                &x,
                &y,
                FitOptions::new()
                    .epochs(1)
                    .batch_size(8)
                    .shuffle(false)
                    .verbose(Verbosity::Silent),
            )
            .unwrap();
        losses.push(h.history["loss"][0]);
    }
    // The first step's forward pass (BN on batch statistics) is the same computation.
    assert!(
        (losses[0] - keras_losses[0] as f64).abs() <= 1e-5,
        "step 0: loss {} vs Keras {}",
        losses[0],
        keras_losses[0]
    );
    for (i, (a, b)) in losses.iter().zip(&keras_losses).enumerate() {
        assert!(
            (a - *b as f64).abs() <= 1e-2,
            "step {i}: loss {a} vs Keras {b}"
        );
    }
    let mut worst = (0.0f64, String::new());
    for layer in m.layers() {
        for p in layer.params() {
            let name = format!("{}/{}", layer.name(), p.name);
            let keras = keras_to_convkit(&get(&f, &format!("trained/{name}")));
            let d = max_diff(&p.tensor, &keras);
            if d > worst.0 {
                worst = (d, name);
            }
        }
    }
    assert!(worst.0 <= 2e-2, "{}: {} from Keras", worst.1, worst.0);
    let moved = max_diff(
        &m.layers()[0].params()[0].tensor,
        &keras_to_convkit(&get(&f, "init/conv/kernel")),
    );
    assert!(
        moved > 5e-3,
        "the kernel hardly moved ({moved}): the check is moot"
    );
}

#[test]
fn policies_are_saved_with_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(DTypePolicy::MixedBfloat16);
    m.save(&dir.path().join("m")).unwrap();
    let text = std::fs::read_to_string(dir.path().join("m/model.json")).unwrap();
    assert!(text.contains("\"dtype\": \"mixed_bfloat16\""), "{text}");
    // And through a `.keras` archive: Keras' DTypePolicy objects, read back.
    let archive = dir.path().join("m.keras");
    convkit_layers::saving::keras_archive::save_keras_model(&m, &archive).unwrap();
    let from_keras =
        convkit_layers::saving::keras_archive::load_keras_model(&archive, Device::Cpu).unwrap();
    let loaded = load_model(&dir.path().join("m"), Device::Cpu).unwrap();
    for l in loaded.layers().into_iter().chain(from_keras.layers()) {
        let expected = if l.name() == "out" {
            DTypePolicy::Float32
        } else {
            DTypePolicy::MixedBfloat16
        };
        assert_eq!(l.common().dtype, expected, "{}", l.name());
    }
}

/// `mixed_float16` on CPU (what libtorch's CPU kernels allow: Dense layers in float16):
/// `compile` attaches loss scaling; a step whose scaled gradients overflow float16 is skipped
/// and the scale halved, as Keras' `LossScaleOptimizer` does; a good step trains.
#[test]
fn mixed_float16_scales_the_loss_and_skips_overflowing_steps() {
    use convkit_layers::training::loss_scale::LossScale;
    let policy = DTypePolicy::MixedFloat16;
    let mut m = Sequential::new();
    m.add(
        Dense::new(8)
            .activation(Activation::Relu)
            .input_shape([4])
            .with_dtype(policy),
    )
    .unwrap();
    m.add(
        Dense::new(2)
            .activation(Activation::Softmax)
            .with_dtype(policy),
    )
    .unwrap();
    m.compile(
        SGD::new().learning_rate(0.1),
        "categorical_crossentropy",
        Vec::<Metric>::new(),
    )
    .unwrap();
    assert_eq!(
        m.compiled().unwrap().loss_scale.as_ref().map(|s| s.scale()),
        Some(32768.0)
    );
    let x = Tensor::randn([16, 4], (Kind::Float, Device::Cpu));
    let y = Tensor::eye(2, (Kind::Float, Device::Cpu)).repeat([8, 1]);
    let weights = |m: &Sequential| m.layers()[0].params()[0].tensor.copy();
    let opts = || {
        FitOptions::new()
            .epochs(1)
            .batch_size(16)
            .shuffle(false)
            .verbose(Verbosity::Silent)
    };
    // A scale so large that the float16 backward pass overflows.
    m.compiled_mut().unwrap().loss_scale = Some(LossScale::new(1e30, 2000));
    let before = weights(&m);
    m.fit(&x, &y, opts()).unwrap();
    let s = m.compiled().unwrap().loss_scale.clone().unwrap();
    assert_eq!((s.skipped(), s.scale()), (1, 5e29), "the step was skipped");
    assert_eq!(weights(&m), before, "skipped: weights unchanged");
    // A sane scale: the step is taken, with the gradients unscaled.
    m.compiled_mut().unwrap().loss_scale = Some(LossScale::new(1024.0, 2000));
    m.fit(&x, &y, opts()).unwrap();
    let moved = max_diff(&weights(&m), &before);
    assert!(
        moved > 1e-4 && moved < 1.0,
        "a good step moves the weights by {moved}"
    );
    assert_eq!(
        m.compiled().unwrap().loss_scale.as_ref().unwrap().skipped(),
        0
    );
}
