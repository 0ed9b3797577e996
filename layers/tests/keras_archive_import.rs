//! `.keras` archives written by Keras 3 load into convkit with Keras' predictions, and
//! compiled ones continue training as Keras does.
//!
//! `scripts/fixtures/export_keras_archives.py OUTDIR` (run by these tests into
//! `target/tmp/keras-archives`, once; Keras 3.15.1, `KERAS_BACKEND=torch`) builds the book's
//! models (`keras_book_models.py`): the MNIST convnet, the cats-vs-dogs convnet with
//! augmentation and Dropout, the mini-Xception, the segmentation model and a model with two
//! inputs and two outputs compiled with `loss_weights`. Each is trained one epoch
//! (`shuffle=False`, `keras.utils.set_random_seed(0)`, data from numpy `default_rng(0)`) and
//! saved with `model.save("NAME.keras")`; `NAME_io.safetensors` holds the data, Keras'
//! `model.predict(x)` (`pred_<j>`), its optimizer variables (`opt_<k>`) and, for the models
//! without Dropout or augmentation, the predictions and loss after one more epoch of
//! `keras.models.load_model(...).fit(..., shuffle=False)` (`cont_pred_<j>`, `cont_loss`).
//! Predictions must agree within 1e-5 relative or 1e-6 absolute.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use convkit_layers::prelude::*;
use convkit_layers::saving::keras_archive::{load_keras_model, load_keras_weights_h5};
use convkit_tensor::tch::{Device, Kind, Tensor};

const MODELS: [&str; 5] = [
    "mnist_convnet",
    "cats_convnet",
    "mini_xception",
    "segmentation",
    "multi_io",
];

fn fixtures() -> PathBuf {
    common::export_fixtures("export_keras_archives.py", "keras-archives", &[])
}

fn numbered(io: &HashMap<String, Tensor>, prefix: &str) -> Vec<Tensor> {
    (0..)
        .map_while(|i| io.get(&format!("{prefix}{i}")).map(|t| t.shallow_clone()))
        .collect()
}

fn predict(model: &dyn Model, xs: &[Tensor]) -> Vec<Tensor> {
    let refs: Vec<&Tensor> = xs.iter().collect();
    convkit_tensor::tch::no_grad(|| model.forward_many_with_losses(&refs, false))
        .unwrap()
        .0
}

#[test]
fn keras_archives_predict_as_keras() {
    let dir = fixtures();
    for name in MODELS {
        let io = common::read_tensors(dir.join(format!("{name}_io.safetensors")));
        let model = load_keras_model(&dir.join(format!("{name}.keras")), Device::Cpu)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            model.compiled().is_some(),
            "{name}: compile config restored"
        );
        let got = predict(model.as_ref(), &numbered(&io, "x_"));
        let want = numbered(&io, "pred_");
        assert_eq!(got.len(), want.len(), "{name}: outputs");
        for (j, (g, w)) in got.iter().zip(&want).enumerate() {
            common::assert_close(g, w, &format!("{name} output {j}"));
        }
    }
}

#[test]
fn keras_archives_restore_the_optimizer_state() {
    let dir = fixtures();
    for name in MODELS {
        let io = common::read_tensors(dir.join(format!("{name}_io.safetensors")));
        let model = load_keras_model(&dir.join(format!("{name}.keras")), Device::Cpu).unwrap();
        let keras = numbered(&io, "opt_");
        let compiled = model.compiled().unwrap();
        let state: HashMap<String, Tensor> =
            compiled.optimizer.state().unwrap().into_iter().collect();
        // Keras: iteration, learning_rate, then its slots; convkit: iterations and slots.
        assert_eq!(
            state["iterations"].int64_value(&[0]),
            keras[0].to_kind(Kind::Int64).int64_value(&[]),
            "{name}: iterations"
        );
        let lr = keras[1].to_kind(Kind::Double).double_value(&[]);
        assert!(
            (compiled.optimizer.learning_rate() - lr).abs() < 1e-9,
            "{name}: learning rate"
        );
        assert_eq!(state.len() - 1, keras.len() - 2, "{name}: slot count");
        // Keras' order: RMSprop one velocity per weight; Adam (momentum, velocity) per weight.
        // Layouts differ (channels-last kernels), so slots are compared by layout-free
        // fingerprints, each against the one Keras holds at its place.
        let adam = compiled.optimizer.slot_names() == ["momentum", "velocity"];
        for (key, t) in state.iter().filter(|(k, _)| *k != "iterations") {
            let (slot, i) = key.rsplit_once('_').unwrap();
            let i: usize = i.parse().unwrap();
            let k = if adam {
                2 + 2 * i + usize::from(slot == "velocity")
            } else {
                2 + i
            };
            let (ours, theirs) = (fingerprint(t), fingerprint(&keras[k]));
            assert_eq!(ours.0, theirs.0, "{name} {key}: shape");
            assert!(
                (ours.1 - theirs.1).abs() <= 1e-6 * theirs.1.abs() + 1e-20,
                "{name} {key}: {ours:?} vs {theirs:?}"
            );
            assert!(
                (ours.2 - theirs.2).abs() <= 1e-5 * theirs.1.sqrt() + 1e-12,
                "{name} {key}: {ours:?} vs {theirs:?}"
            );
        }
    }
}

/// Shape as a sorted multiset of dimensions (layouts permute axes), sum of squares, sum.
fn fingerprint(t: &Tensor) -> (Vec<i64>, f64, f64) {
    let mut dims = t.size();
    dims.sort();
    let d = t.to_kind(Kind::Double);
    (
        dims,
        d.square().sum(Kind::Double).double_value(&[]),
        d.sum(Kind::Double).double_value(&[]),
    )
}

#[test]
fn fit_continues_as_keras_continues() {
    let dir = fixtures();
    for (name, batch) in [("mnist_convnet", 16), ("segmentation", 3)] {
        let io = common::read_tensors(dir.join(format!("{name}_io.safetensors")));
        let mut model = load_keras_model(&dir.join(format!("{name}.keras")), Device::Cpu).unwrap();
        let x = io["x_train_0"].shallow_clone();
        let y = io["y_train_0"].to_kind(Kind::Int64);
        let history = model
            .fit(
                &x,
                &y,
                FitOptions::new()
                    .batch_size(batch)
                    .epochs(1)
                    .shuffle(false)
                    .verbose(Verbosity::Silent),
            )
            .unwrap();
        let loss = history.get("loss").unwrap()[0];
        let keras_loss = io["cont_loss"].double_value(&[0]);
        eprintln!("{name}: continued-epoch loss {loss:.7} (Keras {keras_loss:.7})");
        assert!(
            (loss - keras_loss).abs() <= 1e-4 * keras_loss.abs().max(1.0),
            "{name}: loss"
        );
        let got = predict(model.as_ref(), &numbered(&io, "x_"));
        for (g, w) in got.iter().zip(numbered(&io, "cont_pred_")) {
            assert_close_trained(g, &w, name);
        }
    }
}

/// After a training epoch, float rounding differences between two libraries grow: every
/// element within 1e-4 absolute of Keras' (outputs are probabilities).
fn assert_close_trained(actual: &Tensor, expected: &Tensor, what: &str) {
    let diff = f64::try_from((actual - expected).abs().max()).unwrap();
    eprintln!("{what}: after the continued epoch, max |diff| {diff:.3e}");
    assert!(diff <= 1e-4, "{what}: {diff:.3e}");
}

/// Keras 3's `model.save_weights("x.weights.h5")` layout is the archive's weights entry: read
/// alone, it restores a model's weights (here zeroed first) to Keras' predictions.
#[test]
fn keras_weights_h5_alone_restores_the_weights() {
    use std::io::Read;
    let dir = fixtures();
    let archive = dir.join("cats_convnet.keras");
    let io = common::read_tensors(dir.join("cats_convnet_io.safetensors"));
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&archive).unwrap()).unwrap();
    let mut bytes = Vec::new();
    zip.by_name("model.weights.h5")
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let weights = tmp.path().join("cats.weights.h5");
    std::fs::write(&weights, bytes).unwrap();

    let mut model = load_keras_model(&archive, Device::Cpu).unwrap();
    convkit_tensor::tch::no_grad(|| {
        for (_, p) in model.named_params() {
            let _ = p.tensor.shallow_clone().zero_();
        }
    });
    let zeroed = predict(model.as_ref(), &numbered(&io, "x_"));
    let want = numbered(&io, "pred_");
    assert!(f64::try_from((&zeroed[0] - &want[0]).abs().max()).unwrap() > 1e-3);
    let report = load_keras_weights_h5(model.as_mut(), &weights).unwrap();
    assert_eq!(report.loaded, model.named_params().len());
    let got = predict(model.as_ref(), &numbered(&io, "x_"));
    common::assert_close(&got[0], &want[0], "cats_convnet from .weights.h5");
}
