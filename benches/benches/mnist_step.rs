//! The MNIST convnet at batch 64: forward pass (inference) and one training step (forward,
//! loss, backward, RMSprop update) through `fit`'s code path.

use convkit_benches::{mnist_batch, mnist_convnet};
use convkit_layers::prelude::*;
use criterion::{criterion_group, criterion_main, Criterion};

fn forward(c: &mut Criterion) {
    let model = mnist_convnet().unwrap();
    let (x, _) = mnist_batch(64);
    c.bench_function("mnist_forward_b64", |b| {
        b.iter(|| convkit_tensor::tch::no_grad(|| model.forward(&x, false).unwrap()))
    });
}

fn train_step(c: &mut Criterion) {
    let mut model = mnist_convnet().unwrap();
    let (x, y) = mnist_batch(64);
    let options = || {
        FitOptions::new()
            .epochs(1)
            .batch_size(64)
            .shuffle(false)
            .verbose(Verbosity::Silent)
    };
    c.bench_function("mnist_train_step_b64", |b| {
        b.iter(|| model.fit(&x, &y, options()).unwrap())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = forward, train_step
}
criterion_main!(benches);
