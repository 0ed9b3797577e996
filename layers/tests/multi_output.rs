//! Models with several inputs and outputs: one loss per output with `loss_weights`, per-output
//! logs named as Keras names them (`<output>_loss`, `<output>_<metric>`), `fit` on lists of
//! tensors, saving the per-output compile settings.
//!
//! Expected values are computed here from the losses themselves (each checked against Keras
//! by the golden loss tests): Keras' total loss is `sum_i loss_weights[i] * loss_i`.

use convkit_layers::prelude::*;
use convkit_tensor::tch::{Device, Kind, Tensor};
use convkit_tensor::TensorBatches;

/// Two inputs (4 and 2 features) -> concatenate -> dense -> heads `value` (1, linear) and
/// `kind` (3, softmax).
fn two_heads() -> Functional {
    let mut g = Graph::new();
    let a = g.input_named("a", [4]).unwrap();
    let b = g.input_named("b", [2]).unwrap();
    let x = g.merge(Concatenate::new(), &[a, b]).unwrap();
    let x = g
        .apply(
            Dense::new(8).activation(Activation::Relu).named("shared"),
            x,
        )
        .unwrap();
    let value = g.apply(Dense::new(1).named("value"), x).unwrap();
    let kind = g
        .apply(
            Dense::new(3).activation(Activation::Softmax).named("kind"),
            x,
        )
        .unwrap();
    g.model("two_heads", &[a, b], &[value, kind]).unwrap()
}

fn data(n: i64) -> (Vec<Tensor>, Vec<Tensor>) {
    let opts = (Kind::Float, Device::Cpu);
    let a = Tensor::randn([n, 4], opts);
    let b = Tensor::randn([n, 2], opts);
    let value =
        (a.sum_dim_intlist([1i64].as_slice(), true, Kind::Float) - &b.narrow(1, 0, 1)) * 0.5;
    let kind = a.narrow(1, 0, 3).argmax(1, false);
    (vec![a, b], vec![value, kind])
}

fn shallow(ts: &[Tensor]) -> Vec<Tensor> {
    ts.iter().map(|t| t.shallow_clone()).collect()
}

fn outputs(w_value: f64, w_kind: f64) -> Vec<OutputLoss> {
    vec![
        OutputLoss::new(Loss::MeanSquaredError)
            .weight(w_value)
            .metrics(&[Metric::MeanAbsoluteError]),
        OutputLoss::new(Loss::SparseCategoricalCrossentropy { from_logits: false })
            .weight(w_kind)
            .metrics(&[Metric::Accuracy]),
    ]
}

#[test]
fn total_loss_is_the_weighted_sum_and_logs_name_each_output() {
    convkit_tensor::seed::set_seed(1);
    let mut m = two_heads();
    m.compile_outputs(SGD::new(), outputs(0.25, 2.0)).unwrap();
    let (xs, ys) = data(64);
    let mut source = TensorBatches::multi(shallow(&xs), shallow(&ys), 16, false).unwrap();
    let logs = m.evaluate_source(&mut source).unwrap();

    let preds = m.forward_all(&[&xs[0], &xs[1]], false).unwrap();
    let mse = Loss::MeanSquaredError.compute(&ys[0], &preds[0]).unwrap();
    let sce = Loss::SparseCategoricalCrossentropy { from_logits: false }
        .compute(&ys[1], &preds[1])
        .unwrap();
    let (mse, sce) = (f64::try_from(mse).unwrap(), f64::try_from(sce).unwrap());
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-5 * b.abs().max(1.0);
    assert!(close(logs.get("value_loss").unwrap(), mse), "{logs:?}");
    assert!(close(logs.get("kind_loss").unwrap(), sce), "{logs:?}");
    assert!(
        close(logs.get("loss").unwrap(), 0.25 * mse + 2.0 * sce),
        "{logs:?}"
    );
    let acc = f64::try_from(
        preds[1]
            .argmax(1, false)
            .eq_tensor(&ys[1])
            .to_kind(Kind::Double)
            .mean(Kind::Double),
    )
    .unwrap();
    assert!(close(logs.get("kind_accuracy").unwrap(), acc), "{logs:?}");
    assert!(logs.get("value_mean_absolute_error").is_some(), "{logs:?}");
}

#[test]
fn a_zero_weight_leaves_its_head_untouched_and_fit_multi_learns() {
    convkit_tensor::seed::set_seed(2);
    let mut m = two_heads();
    m.compile_outputs(Adam::new().learning_rate(0.01), outputs(1.0, 0.0))
        .unwrap();
    let kind_before = m.get_layer("kind").unwrap().params()[0].tensor.copy();
    let value_before = m.get_layer("value").unwrap().params()[0].tensor.copy();
    let (xs, ys) = data(256);
    let history = m
        .fit_multi(
            &xs,
            &ys,
            FitOptions::new()
                .epochs(8)
                .batch_size(32)
                .validation_split(0.25)
                .verbose(Verbosity::Silent),
        )
        .unwrap();
    let kind_after = &m.get_layer("kind").unwrap().params()[0].tensor;
    let value_after = &m.get_layer("value").unwrap().params()[0].tensor;
    assert!(
        kind_after.equal(&kind_before),
        "a head of weight 0 was updated"
    );
    assert!(!value_after.equal(&value_before));
    let losses = history.get("value_loss").unwrap();
    assert!(
        losses.last().unwrap() < &(0.5 * losses[0]),
        "value loss did not fall: {losses:?}"
    );
    assert!(history.get("val_kind_accuracy").is_some());
}

#[test]
fn per_output_compile_survives_save_and_load() {
    convkit_tensor::seed::set_seed(3);
    let mut m = two_heads();
    m.compile_outputs(RMSprop::new(), outputs(0.5, 1.5))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    m.save(dir.path()).unwrap();
    let loaded = load_model(dir.path(), Device::Cpu).unwrap();
    let c = loaded.compiled().unwrap();
    let got: Vec<(String, f64)> = c
        .outputs
        .iter()
        .map(|o| (o.name.clone(), o.weight))
        .collect();
    assert_eq!(got, [("value".to_string(), 0.5), ("kind".to_string(), 1.5)]);
    assert_eq!(c.outputs[1].requested_metrics, [Metric::Accuracy]);
}

#[test]
fn wrong_number_of_losses_names_the_outputs() {
    let mut m = two_heads();
    let err = m
        .compile_outputs(SGD::new(), vec![OutputLoss::new(Loss::MeanSquaredError)])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("1 losses given for 2 outputs (value, kind)"),
        "{err}"
    );
    let err = m
        .compile_outputs(SGD::new(), outputs(-1.0, 1.0))
        .unwrap_err()
        .to_string();
    assert!(err.contains("loss weight of output 'value'"), "{err}");
}

#[test]
fn one_loss_applies_to_every_output() {
    let mut m = two_heads();
    m.compile(SGD::new(), Loss::MeanSquaredError, &[]).unwrap();
    let c = m.compiled().unwrap();
    assert_eq!(c.outputs.len(), 2);
    assert!(c
        .outputs
        .iter()
        .all(|o| o.loss == Loss::MeanSquaredError && o.weight == 1.0));
}
