//! The picture computations: Grad-CAM per 224x224 image on EfficientNet-Lite0 (batch of 4,
//! layer `top_activation`; random weights, the speed does not depend on them), and filter
//! ascent per filter (8 filters of `block2a_expand_conv` at once, 10 steps of the second
//! edition's recipe at 128x128). `benches/compare/compare_gradcam.py` compares Grad-CAM with
//! pytorch-grad-cam.

use convkit_layers::applications::{efficientnet_lite0, ApplicationConfig};
use convkit_tensor::tch::{Device, Kind, Tensor};
use convkit_viz::filters::{gradient_ascent, AscentConfig, AscentTarget};
use convkit_viz::gradcam::GradCam;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn gradcam(c: &mut Criterion) {
    convkit_tensor::seed::set_seed(0);
    let model = efficientnet_lite0(&ApplicationConfig::default(), Device::Cpu).unwrap();
    let x = Tensor::rand([4, 3, 224, 224], (Kind::Float, Device::Cpu)) * 2.0 - 1.0;
    let cam = GradCam::new(&model, None).unwrap();
    let mut group = c.benchmark_group("gradcam");
    group.throughput(Throughput::Elements(4));
    group.bench_function("lite0_224_b4", |b| {
        b.iter(|| cam.compute(&x, None).unwrap())
    });
    group.finish();
}

fn filter_ascent(c: &mut Criterion) {
    convkit_tensor::seed::set_seed(0);
    let config = ApplicationConfig {
        input_shape: Some([3, 128, 128]),
        include_top: false,
        ..ApplicationConfig::default()
    };
    let model = efficientnet_lite0(&config, Device::Cpu).unwrap();
    let mut cfg = AscentConfig::second_edition();
    cfg.size = 128;
    cfg.steps = 10;
    let target = AscentTarget::Filters {
        layer: "block2a_expand_conv".into(),
        filters: (0..8).collect(),
    };
    let mut group = c.benchmark_group("filter_ascent");
    group.throughput(Throughput::Elements(8));
    group.bench_function("lite0_block2a_128_10steps_8filters", |b| {
        b.iter(|| gradient_ascent(&model, &target, &cfg).unwrap())
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = gradcam, filter_ascent
}
criterion_main!(benches);
