//! Mean IoU against Keras' documented values, and per-pixel training with it.

use convkit_layers::prelude::*;
use convkit_tensor::tch::{Device, Kind, Tensor};

/// One-hot scores for predicted classes (so that argmax gives them).
fn scores(pred: &[i64], k: i64) -> Tensor {
    Tensor::from_slice(pred).one_hot(k).to_kind(Kind::Float)
}

#[test]
fn mean_iou_matches_the_keras_documentation() {
    // keras.metrics.MeanIoU docstring:
    //   m = keras.metrics.MeanIoU(num_classes=2)
    //   m.update_state([0, 0, 1, 1], [0, 1, 0, 1])  ->  m.result() == 0.33333334
    //   (cm = [[1, 1], [1, 1]], iou = [1/3, 1/3])
    let m = Metric::MeanIoU(2);
    let c = m
        .confusion(
            &Tensor::from_slice(&[0i64, 0, 1, 1]),
            &scores(&[0, 1, 0, 1], 2),
        )
        .unwrap();
    assert!((Metric::mean_iou(&c).unwrap() - 1.0 / 3.0).abs() < 1e-12);
    // A second update (weights omitted): [0, 1] vs [0, 1] adds two correct pixels:
    // cm = [[2, 1], [1, 2]] -> iou = [2/4, 2/4].
    let c2 = &c
        + m.confusion(&Tensor::from_slice(&[0i64, 1]), &scores(&[0, 1], 2))
            .unwrap();
    assert!((Metric::mean_iou(&c2).unwrap() - 0.5).abs() < 1e-12);
    // Classes absent from both targets and predictions do not count.
    let m3 = Metric::MeanIoU(3);
    let c3 = m3
        .confusion(
            &Tensor::from_slice(&[0i64, 0, 1, 1]),
            &scores(&[0, 1, 0, 1], 3),
        )
        .unwrap();
    assert!((Metric::mean_iou(&c3).unwrap() - 1.0 / 3.0).abs() < 1e-12);
}

#[test]
fn per_pixel_training_logs_mean_iou() {
    // 16 images 1x8x8: the mask is the bright half of the image.
    let x = Tensor::rand([16, 1, 8, 8], (Kind::Float, Device::Cpu)) * 0.2;
    let left = Tensor::arange(8, (Kind::Int64, Device::Cpu))
        .lt(4)
        .view([1, 1, 8]);
    let flip = Tensor::arange(16, (Kind::Int64, Device::Cpu))
        .remainder(2)
        .view([16, 1, 1]);
    let y = left
        .logical_xor(&flip.to_kind(Kind::Bool))
        .expand([16, 8, 8], false)
        .to_kind(Kind::Int64)
        .contiguous();
    let x = x + y.unsqueeze(1).to_kind(Kind::Float) * 0.8;
    let mut g = Graph::new();
    let i = g.input([1, 8, 8]);
    let h = g
        .apply(
            Conv2D::new(4, 3)
                .padding(Padding::Same)
                .activation(Activation::Relu),
            i,
        )
        .unwrap();
    let o = g
        .apply(Conv2D::new(2, 1).activation(Activation::Softmax), h)
        .unwrap();
    let mut model = g.model("seg", &[i], &[o]).unwrap();
    model
        .compile(
            RMSprop::new().learning_rate(1e-2),
            Loss::SparseCategoricalCrossentropy { from_logits: false },
            &[Metric::Accuracy, Metric::MeanIoU(2)],
        )
        .unwrap();
    let h = model
        .fit(
            &x,
            &y,
            FitOptions::new()
                .epochs(30)
                .batch_size(8)
                .verbose(Verbosity::Silent),
        )
        .unwrap();
    let iou = h.history["mean_io_u"].clone();
    assert!(iou.last().unwrap() > &0.9, "{iou:?}");
    let logs = model.evaluate(&x, &y, 16).unwrap();
    assert!(logs.get("mean_io_u").unwrap() > 0.9);
}
