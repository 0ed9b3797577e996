//! 10-step trajectories against Keras 3 (torch backend).
//!
//! Fixture: `optim/tests/fixtures/keras_optimizers.safetensors`, produced by
//! `KERAS_BACKEND=torch .venv/bin/python scripts/fixtures/make_keras_golden.py` (Keras 3.15.1):
//! for each case, `var = keras.Variable(w0)` and 10 calls of
//! `optimizer.apply_gradients([(grads[i], var)])`, recording `var` after each (`traj`). For
//! example `rmsprop_centered_momentum` is `keras.optimizers.RMSprop(learning_rate=0.01,
//! momentum=0.5, centered=True)`. Tolerance: |a - b| <= 1e-5 * |b| + 1e-6.

use std::collections::HashMap;

use convkit_optim::{Adam, AdamW, Clipping, Optimizer, RMSprop, SGD};
use convkit_tensor::tch::{Kind, Tensor};

fn fixtures() -> HashMap<String, Tensor> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/keras_optimizers.safetensors"
    );
    Tensor::read_safetensors(path)
        .unwrap()
        .into_iter()
        .collect()
}

fn run(case: &str, mut opt: Box<dyn Optimizer>) {
    let f = fixtures();
    let w0 = &f[&format!("{case}/w0")];
    let grads = &f[&format!("{case}/grads")];
    let traj = &f[&format!("{case}/traj")];
    let var = w0.copy().set_requires_grad(true);
    for step in 0..10 {
        let g = grads.get(step);
        // Produce exactly `g` as the gradient: d(sum(var * g))/dvar = g.
        let mut v = var.shallow_clone();
        v.zero_grad();
        (&var * &g).sum(Kind::Float).backward();
        opt.step(&[var.shallow_clone()]).unwrap();
        let expected = traj.get(step);
        let diff = (&var.detach() - &expected).abs();
        let excess = (&diff - (expected.abs() * 1e-5 + 1e-6))
            .max()
            .double_value(&[]);
        assert!(
            excess <= 0.0,
            "{case}: step {} differs from Keras by {}",
            step + 1,
            diff.max().double_value(&[])
        );
    }
}

#[test]
fn sgd_family_matches_keras() {
    run("sgd", Box::new(SGD::new().learning_rate(0.1)));
    run(
        "sgd_momentum",
        Box::new(SGD::new().momentum(0.9).learning_rate(0.1)),
    );
    run(
        "sgd_nesterov",
        Box::new(SGD::new().momentum(0.9).nesterov(true).learning_rate(0.1)),
    );
    run(
        "sgd_clipnorm",
        Box::new(SGD::new().learning_rate(0.1).clipping(Clipping::Norm(1.0))),
    );
    run(
        "sgd_clipvalue",
        Box::new(SGD::new().learning_rate(0.1).clipping(Clipping::Value(0.5))),
    );
}

#[test]
fn rmsprop_matches_keras() {
    run("rmsprop", Box::new(RMSprop::new().learning_rate(0.01)));
    run(
        "rmsprop_centered_momentum",
        Box::new(
            RMSprop::new()
                .momentum(0.5)
                .centered(true)
                .learning_rate(0.01),
        ),
    );
}

#[test]
fn adam_family_matches_keras() {
    run("adam", Box::new(Adam::new().learning_rate(0.01)));
    run(
        "adam_amsgrad",
        Box::new(Adam::new().amsgrad(true).learning_rate(0.01)),
    );
    run(
        "adam_amsgrad_shrinking",
        Box::new(Adam::new().beta_2(0.9).amsgrad(true).learning_rate(0.01)),
    );
    run("adamw", Box::new(AdamW::new().learning_rate(0.01)));
    run(
        "adam_global_clipnorm",
        Box::new(
            Adam::new()
                .learning_rate(0.01)
                .clipping(Clipping::GlobalNorm(1.0)),
        ),
    );
}

#[test]
fn keras_defaults() {
    assert_eq!(Optimizer::learning_rate(&RMSprop::new()), 1e-3);
    assert_eq!(RMSprop::new().rule().epsilon, 1e-7);
    assert_eq!(RMSprop::new().rule().rho, 0.9);
    assert_eq!(Adam::new().rule().epsilon, 1e-7);
    assert_eq!(Optimizer::learning_rate(&SGD::new()), 0.01);
    assert!(AdamW::new().config()["weight_decay"].as_f64().unwrap() == 0.004);
}

#[test]
fn state_round_trips_and_resumes_identically() {
    let f = fixtures();
    let grads = &f["adam/grads"];
    let w0 = &f["adam/w0"];
    let step = |opt: &mut dyn Optimizer, var: &Tensor, i: i64| {
        let mut v = var.shallow_clone();
        v.zero_grad();
        (var * grads.get(i)).sum(Kind::Float).backward();
        opt.step(&[var.shallow_clone()]).unwrap();
    };
    // Uninterrupted: 10 steps.
    let a = w0.copy().set_requires_grad(true);
    let mut oa = Adam::new().learning_rate(0.01);
    for i in 0..10 {
        step(&mut oa, &a, i);
    }
    // Interrupted after 4 steps, state saved and loaded into a fresh optimizer.
    let b = w0.copy().set_requires_grad(true);
    let mut ob = Adam::new().learning_rate(0.01);
    for i in 0..4 {
        step(&mut ob, &b, i);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("opt.safetensors");
    convkit_optim::save_state(&ob, &path).unwrap();
    let mut oc = Adam::new().learning_rate(0.01);
    convkit_optim::load_state(&mut oc, &[b.shallow_clone()], &path).unwrap();
    assert_eq!(oc.iterations(), 4);
    for i in 4..10 {
        step(&mut oc, &b, i);
    }
    assert!(a.detach().equal(&b.detach()), "resumed trajectory differs");
    // A state for other parameters is refused, naming the slot.
    let other = Tensor::zeros([2, 2], (Kind::Float, convkit_tensor::tch::Device::Cpu))
        .set_requires_grad(true);
    let mut od = Adam::new();
    let err = convkit_optim::load_state(&mut od, &[other], &path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("momentum_0") && err.contains("[2, 2]"),
        "{err}"
    );
}
