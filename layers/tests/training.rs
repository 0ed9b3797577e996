//! compile / fit / evaluate / predict, History, callbacks and saving.

mod common;

use common::{bright_top_dataset, cce, small_convnet};
use convkit_layers::prelude::*;
use convkit_tensor::tch::{Kind, Tensor};

#[test]
fn fit_learns_and_records_history_with_validation() {
    let (x, y) = bright_top_dataset(512);
    let mut m = small_convnet();
    m.compile(
        RMSprop::new().learning_rate(0.01),
        cce(),
        &[Metric::Accuracy],
    )
    .unwrap();
    let h = m
        .fit(
            &x,
            &y,
            FitOptions::new()
                .epochs(6)
                .batch_size(32)
                .validation_split(0.25)
                .verbose(Verbosity::Silent),
        )
        .unwrap();
    assert_eq!(h.epoch, vec![0, 1, 2, 3, 4, 5]);
    for key in [
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
        "learning_rate",
    ] {
        assert_eq!(
            h.get(key).map(|v| v.len()),
            Some(6),
            "history lacks {key}: {:?}",
            h.history.keys()
        );
    }
    let loss = h.get("loss").unwrap();
    assert!(loss[5] < loss[0] * 0.8, "loss did not decrease: {loss:?}");
    assert!(
        *h.get("val_accuracy").unwrap().last().unwrap() > 0.85,
        "{:?}",
        h.get("val_accuracy")
    );

    let logs = m.evaluate(&x, &y, 64).unwrap();
    assert!(logs.get("accuracy").unwrap() > 0.85);
    let pred = m.predict(&x, 100).unwrap();
    assert_eq!(pred.size(), [512, 2]);
    let row_sums = pred.sum_dim_intlist([1i64].as_slice(), false, Kind::Float);
    assert!((row_sums - 1.0).abs().max().double_value(&[]) < 1e-5);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.json");
    h.save(&path).unwrap();
    assert_eq!(History::load(&path).unwrap(), h);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"val_loss\""), "{text}");
}

#[test]
fn sparse_targets_train_with_resolved_accuracy() {
    let (x, y) = bright_top_dataset(256);
    let labels = y.argmax(1, false);
    let mut m = small_convnet();
    m.compile(
        Adam::new(),
        Loss::SparseCategoricalCrossentropy { from_logits: false },
        &[Metric::Accuracy, Metric::SparseTopKCategoricalAccuracy(1)],
    )
    .unwrap();
    let h = m
        .fit(
            &x,
            &labels,
            FitOptions::new().epochs(2).verbose(Verbosity::Silent),
        )
        .unwrap();
    assert!(h.get("sparse_top_1_categorical_accuracy").is_some());
    assert_eq!(
        h.get("accuracy").unwrap(),
        h.get("sparse_top_1_categorical_accuracy").unwrap()
    );
}

#[test]
fn terminate_on_nan_stops_with_a_message() {
    let (x, y) = bright_top_dataset(64);
    let x = x.full_like(f64::NAN);
    let mut m = small_convnet();
    m.compile(SGD::new(), cce(), &[]).unwrap();
    let h = m
        .fit(
            &x,
            &y,
            FitOptions::new()
                .epochs(3)
                .batch_size(16)
                .callback(TerminateOnNaN::new())
                .verbose(Verbosity::Silent),
        )
        .unwrap();
    assert!(
        h.epoch.is_empty(),
        "no epoch should complete: {:?}",
        h.epoch
    );
    let reason = h.stop_reason.expect("a stop reason");
    assert!(
        reason.contains("invalid loss NaN") && reason.contains("Batch 0"),
        "{reason}"
    );
}

/// Records the weights at the end of each epoch.
type Weights = Vec<(String, Tensor)>;
struct Snapshots(std::sync::Arc<std::sync::Mutex<Vec<Weights>>>);
impl Callback for Snapshots {
    fn on_epoch_end(
        &mut self,
        _e: usize,
        _l: &Logs,
        model: &mut dyn Model,
        _s: &mut convkit_layers::training::TrainingState,
    ) -> convkit_layers::Result<()> {
        self.0.lock().unwrap().push(model.get_weights()?);
        Ok(())
    }
}

#[test]
fn early_stopping_restores_best_weights_even_when_epochs_run_out() {
    let (x, y) = bright_top_dataset(128);
    let mut m = small_convnet();
    m.compile(RMSprop::new().learning_rate(0.01), cce(), &[])
        .unwrap();
    let snaps = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    // The logged learning rate is constant: the best epoch is the first; patience never runs out.
    let es = EarlyStopping::new("learning_rate")
        .mode(Mode::Min)
        .patience(100)
        .restore_best_weights(true);
    let h = m
        .fit(
            &x,
            &y,
            FitOptions::new()
                .epochs(3)
                .callback(Snapshots(snaps.clone()))
                .callback(es)
                .verbose(Verbosity::Silent),
        )
        .unwrap();
    assert_eq!(h.epoch.len(), 3, "ran out of epochs, not stopped");
    let snaps = snaps.lock().unwrap();
    let (first, last) = (&snaps[0], &snaps[2]);
    let now = m.get_weights().unwrap();
    for ((n, a), (_, b)) in now.iter().zip(first.iter()) {
        assert!(a.equal(b), "{n} is not the best epoch's weight");
    }
    assert!(now
        .iter()
        .zip(last.iter())
        .any(|((_, a), (_, b))| !a.equal(b)));
}

#[test]
fn early_stopping_stops_after_patience() {
    let (x, y) = bright_top_dataset(64);
    let mut m = small_convnet();
    m.compile(RMSprop::new(), cce(), &[]).unwrap();
    // The logged learning rate is constant: only epoch 0 "improves", so patience 2 stops at epoch 2.
    let es = EarlyStopping::new("learning_rate")
        .mode(Mode::Min)
        .patience(2);
    let h = m
        .fit(
            &x,
            &y,
            FitOptions::new()
                .epochs(20)
                .callback(es)
                .verbose(Verbosity::Silent),
        )
        .unwrap();
    assert_eq!(h.epoch, vec![0, 1, 2]);
}

#[test]
fn reduce_lr_on_plateau_and_csv_logger() {
    let (x, y) = bright_top_dataset(64);
    let mut m = small_convnet();
    m.compile(RMSprop::new(), cce(), &[Metric::Accuracy])
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("log.csv");
    // min_delta 1 makes every epoch after the first a plateau; each epoch logs the rate it ran with.
    let plateau = ReduceLROnPlateau::new("learning_rate")
        .factor(0.5)
        .patience(1)
        .min_delta(1.0)
        .mode(Mode::Min);
    let h = m
        .fit(
            &x,
            &y,
            FitOptions::new()
                .epochs(4)
                .callback(plateau)
                .callback(CSVLogger::new(&csv))
                .verbose(Verbosity::Silent),
        )
        .unwrap();
    let lr = h.get("learning_rate").unwrap();
    assert_eq!(lr, &[1e-3, 1e-3, 5e-4, 2.5e-4]);
    assert_eq!(m.compiled().unwrap().optimizer.learning_rate(), 1.25e-4);
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "epoch,accuracy,learning_rate,loss");
    assert_eq!(lines.len(), 5);
    assert!(lines[4].starts_with("3,"));
}

#[test]
fn save_and_load_model_round_trip_with_optimizer_state() {
    let (x, y) = bright_top_dataset(64);
    let mut m = small_convnet();
    m.add(ActivationLayer::new(Activation::Linear).named("out"))
        .unwrap();
    m.compile(Adam::new(), cce(), &[Metric::Accuracy]).unwrap();
    m.fit(
        &x,
        &y,
        FitOptions::new().epochs(1).verbose(Verbosity::Silent),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("model");
    m.save(&out).unwrap();
    for f in ["model.json", "model.safetensors", "optimizer.safetensors"] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let names: Vec<String> = Tensor::read_safetensors(out.join("model.safetensors"))
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(
        names.contains(&"conv2d/kernel".to_string()) && names.contains(&"dense/bias".to_string()),
        "{names:?}"
    );

    let loaded = load_model(&out, convkit_tensor::tch::Device::Cpu).unwrap();
    assert_eq!(loaded.summary(), m.summary());
    assert!(loaded
        .predict(&x, 32)
        .unwrap()
        .equal(&m.predict(&x, 32).unwrap()));
    let c = loaded.compiled().expect("compiled after load");
    assert_eq!(c.optimizer.name(), "adam");
    assert_eq!(c.optimizer.iterations(), 2);
    assert_eq!(c.outputs[0].metric_names, vec!["accuracy".to_string()]);

    // Weights of another architecture are refused by name.
    let mut other = Sequential::new();
    other.add(Dense::new(3).input_shape([4])).unwrap();
    let err = load_weights(&mut other, &out.join("model.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`dense/kernel` has shape [64, 2], expected [4, 3]"),
        "{err}"
    );
    assert!(
        err.contains("`conv2d/kernel` is not a weight of this model"),
        "{err}"
    );
}

#[test]
fn model_checkpoint_saves_only_improvements() {
    let (x, y) = bright_top_dataset(64);
    let mut m = small_convnet();
    m.compile(RMSprop::new(), cce(), &[Metric::Accuracy])
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pattern = dir
        .path()
        .join("ckpt-{epoch:02}")
        .to_string_lossy()
        .into_owned();
    // The logged learning rate is constant: only epoch 1 improves on "nothing seen yet".
    let cb = ModelCheckpoint::new(pattern)
        .monitor("learning_rate")
        .mode(Mode::Min)
        .save_best_only(true);
    m.fit(
        &x,
        &y,
        FitOptions::new()
            .epochs(3)
            .callback(cb)
            .verbose(Verbosity::Silent),
    )
    .unwrap();
    let mut saved: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    saved.sort();
    assert_eq!(saved, vec!["ckpt-01".to_string()]);
    assert!(dir.path().join("ckpt-01/optimizer.safetensors").exists());
}

#[test]
fn fit_source_validates_on_in_memory_data_and_refuses_a_split() {
    let (x, y) = bright_top_dataset(128);
    let (vx, vy) = bright_top_dataset(64);
    let mut m = small_convnet();
    m.compile(RMSprop::new(), cce(), &[Metric::Accuracy])
        .unwrap();
    let mut src = convkit_tensor::TensorBatches::new(x, y, 32, true).unwrap();
    let h = m
        .fit_source(
            &mut src,
            FitOptions::new()
                .epochs(2)
                .validation_data(vx, vy)
                .verbose(Verbosity::Silent),
        )
        .unwrap();
    assert_eq!(h.history["val_accuracy"].len(), 2);
    assert_eq!(h.history["val_loss"].len(), 2);
    let e = m
        .fit_source(
            &mut src,
            FitOptions::new()
                .epochs(1)
                .validation_split(0.2)
                .verbose(Verbosity::Silent),
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("validation_split"), "{e}");
}
