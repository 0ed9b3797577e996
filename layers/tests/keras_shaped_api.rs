//! The library reads like Keras: `compile` by names, optimizers built as Keras' constructors,
//! unknown names listed, and the book's integer labels `(N,)` against a sigmoid `(N, 1)`.

mod common;

use common::{bright_top_dataset, small_convnet};
use convkit_layers::prelude::*;
use convkit_tensor::tch::{Device, Kind, Tensor};

fn sigmoid_net() -> Sequential {
    let mut m = Sequential::new();
    m.add(Flatten::new().input_shape([1, 8, 8])).unwrap();
    m.add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap();
    m
}

#[test]
fn compile_by_keras_names() {
    let mut m = small_convnet();
    m.compile("rmsprop", "categorical_crossentropy", ["accuracy"])
        .unwrap();
    let c = m.compiled().unwrap();
    assert_eq!(c.optimizer.name(), "rmsprop");
    assert_eq!(c.optimizer.learning_rate(), 1e-3);
    assert_eq!(
        c.outputs[0].loss,
        Loss::CategoricalCrossentropy { from_logits: false }
    );
    assert_eq!(c.outputs[0].metrics, vec![Metric::CategoricalAccuracy]);

    // An optimizer object straight from its constructor, as Keras' RMSprop(learning_rate=1e-4).
    m.compile(
        RMSprop::new().learning_rate(1e-4).rho(0.8),
        Loss::CategoricalCrossentropy { from_logits: false },
        &[Metric::Accuracy],
    )
    .unwrap();
    let config = m.compiled().unwrap().optimizer.config();
    assert_eq!(config["learning_rate"], 1e-4);
    assert_eq!(config["rho"], 0.8);
}

#[test]
fn unknown_names_list_the_known_ones() {
    let mut m = small_convnet();
    let e = m
        .compile("rmsprop", "crossentropy", ["accuracy"])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("unknown loss 'crossentropy'") && e.contains("categorical_crossentropy"),
        "{e}"
    );
    let e = m
        .compile("rmsprop", "mse", ["acuracy"])
        .unwrap_err()
        .to_string();
    assert!(e.contains("'acuracy'") && e.contains("accuracy"), "{e}");
    let e = m
        .compile("adagrad", "mse", ["mae"])
        .unwrap_err()
        .to_string();
    assert!(e.contains("adagrad") && e.contains("rmsprop"), "{e}");
    let e = Loss::from_name("hinge").unwrap_err().to_string();
    assert!(e.contains("binary_crossentropy"), "{e}");
}

/// Keras' `binary_crossentropy` and `binary_accuracy` take integer labels `(N,)` for
/// predictions `(N, 1)` (`squeeze_or_expand_to_same_rank`), as the book's cats-vs-dogs code
/// does; the values equal those of `(N, 1)` targets.
#[test]
fn binary_crossentropy_takes_labels_without_the_trailing_axis() {
    convkit_tensor::seed::set_seed(3);
    let (x, y) = bright_top_dataset(64);
    let labels = y.argmax(1, false); // (N,) integers, the book's `labels`
    let column = labels.to_kind(Kind::Float).unsqueeze(1); // (N, 1)

    let mut m = sigmoid_net();
    m.compile("rmsprop", "binary_crossentropy", ["accuracy"])
        .unwrap();
    let flat = m.evaluate(&x, &labels, 16).unwrap();
    let col = m.evaluate(&x, &column, 16).unwrap();
    for key in ["loss", "accuracy"] {
        let (a, b) = (flat.get(key).unwrap(), col.get(key).unwrap());
        assert!(
            (a - b).abs() < 1e-9,
            "{key}: (N,) gives {a}, (N, 1) gives {b}"
        );
    }
    // Accuracy is a fraction of samples, not of an (N, N) broadcast.
    let acc = flat.get("accuracy").unwrap();
    assert!((0.0..=1.0).contains(&acc));
    let hits = m
        .predict(&x, 16)
        .unwrap()
        .gt(0.5)
        .to_kind(Kind::Float)
        .eq_tensor(&column)
        .to_kind(Kind::Float)
        .mean(Kind::Float)
        .double_value(&[]);
    assert!((acc - hits).abs() < 1e-6, "{acc} vs {hits}");

    // Training with (N,) labels works too.
    let h = m
        .fit(
            &x,
            &labels,
            FitOptions::new()
                .epochs(2)
                .batch_size(16)
                .verbose(Verbosity::Silent),
        )
        .unwrap();
    assert_eq!(h.epoch.len(), 2);

    // A real mismatch is still refused.
    let wrong = Tensor::zeros([64, 3], (Kind::Float, Device::Cpu));
    assert!(m.evaluate(&x, &wrong, 16).is_err());
}

#[test]
fn a_sub_model_with_one_output_returns_a_tensor() {
    let m = small_convnet();
    let x = Tensor::rand([2, 1, 8, 8], (Kind::Float, Device::Cpu));
    let act = SubModel::output(&m, "conv2d")
        .unwrap()
        .predict_one(&x)
        .unwrap();
    assert_eq!(act.size(), [2, 4, 8, 8]);
    let two = SubModel::outputs(&m, &["conv2d", "max_pooling2d"]).unwrap();
    let e = two.predict_one(&x).unwrap_err().to_string();
    assert!(
        e.contains("2 outputs") && e.contains("max_pooling2d"),
        "{e}"
    );
}

/// A Keras user's channels-last shapes get a hint that convkit is channels-first, and options
/// print as Keras does (`(3, 3)`), not as Rust debug forms.
#[test]
fn channels_last_shapes_say_that_convkit_is_channels_first() {
    let mut m = Sequential::new();
    let e = m
        .add(Conv2D::new(32, 3).input_shape([28, 28, 1]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("channels-first") && e.contains("(3, 3)"), "{e}");
    assert!(!e.contains("Pair("), "{e}");

    let mut m = Sequential::new();
    m.add(Conv2D::new(4, 3).input_shape([3, 32, 32])).unwrap();
    let nhwc = Tensor::rand([2, 32, 32, 3], (Kind::Float, Device::Cpu));
    let e = m.predict(&nhwc, 2).unwrap_err().to_string();
    assert!(e.contains("channels-first"), "{e}");
}

#[test]
fn evaluate_and_predict_default_to_keras_batch_of_32() {
    // Keras: `model.predict(x)` and `model.evaluate(x, y)` take batch_size=None, meaning 32.
    assert_eq!(convkit_layers::training::DEFAULT_BATCH_SIZE, 32);
    assert_eq!(FitOptions::new().batch_size, 32);
    let mut m = sigmoid_net();
    m.compile("rmsprop", "binary_crossentropy", ["accuracy"])
        .unwrap();
    let x = Tensor::f_rand([70, 1, 8, 8], (Kind::Float, Device::Cpu)).unwrap();
    let y = Tensor::f_randint(2, [70], (Kind::Float, Device::Cpu)).unwrap();
    let by_default = m.predict(&x, None).unwrap();
    let by_32 = m.predict(&x, 32).unwrap();
    assert_eq!(by_default.size(), vec![70, 1]);
    assert!(by_default.equal(&by_32));
    let logs = m.evaluate(&x, &y, None).unwrap();
    let logs_32 = m.evaluate(&x, &y, 32).unwrap();
    assert_eq!(logs.get("loss"), logs_32.get("loss"));
    assert_eq!(logs.get("accuracy"), logs_32.get("accuracy"));
}
