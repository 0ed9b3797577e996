//! convkit models written as Keras 3 `.keras` archives load in Keras and predict what convkit
//! predicts; compiled ones bring their optimizer state and continue training as Keras does.
//!
//! Two sources of models:
//! - the five archives Keras wrote (`scripts/fixtures/export_keras_archives.py`, see
//!   `keras_archive_import.rs`), read into convkit and written again by convkit: Keras must
//!   predict `pred_<j>` (its own prediction from its own file), restore `opt_<k>` (its own
//!   optimizer variables) and, for the deterministic ones, continue one epoch to its own
//!   `cont_loss`/`cont_pred_<j>`;
//! - models built in convkit (the book's MNIST convnet trained a few steps, a functional
//!   model using most of the layer catalogue, the mini-Xception, the segmentation model,
//!   a `Sequential` with a nested augmentation `Sequential`): Keras must predict what convkit
//!   predicts.
//!
//! The check is `export_keras_archives.py --check FILE IO [NAME]` (Keras 3.15.1,
//! `KERAS_BACKEND=torch`): within 1e-5 relative or 1e-6 absolute.

mod common;

use std::path::{Path, PathBuf};

use convkit_layers::applications::{
    book_augmentation, mini_xception, mnist_convnet, segmentation_model,
};
use convkit_layers::models::functional::ModelLayer;
use convkit_layers::prelude::*;
use convkit_layers::saving::keras_archive::{load_keras_model, save_keras_model};
use convkit_tensor::tch::{self, Device, Kind, Tensor};

const KERAS_MODELS: [&str; 5] = [
    "mnist_convnet",
    "cats_convnet",
    "mini_xception",
    "segmentation",
    "multi_io",
];

fn out_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `export_keras_archives.py --check` on every `(file, io, name)`; panics with Keras'
/// report on a mismatch.
fn keras_check(checks: &[(PathBuf, PathBuf, Option<&str>)]) {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/fixtures/export_keras_archives.py");
    let mut cmd = std::process::Command::new(common::venv_python());
    cmd.arg(&script).env("KERAS_BACKEND", "torch");
    for (file, io, name) in checks {
        cmd.arg("--check").arg(file).arg(io);
        if let Some(name) = name {
            cmd.arg(name);
        }
    }
    let out = cmd.output().expect("the venv's python runs");
    let report = String::from_utf8_lossy(&out.stdout);
    eprintln!("{report}");
    assert!(
        out.status.success(),
        "Keras does not load or predict convkit's .keras files as expected:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn predict_all(model: &dyn Model, xs: &[Tensor]) -> Vec<Tensor> {
    let refs: Vec<&Tensor> = xs.iter().collect();
    tch::no_grad(|| model.forward_many_with_losses(&refs, false))
        .unwrap()
        .0
}

#[test]
fn keras_models_written_back_by_convkit_load_in_keras_with_their_state() {
    let fixtures = common::export_fixtures("export_keras_archives.py", "keras-archives", &[]);
    let out = out_dir("keras-export-roundtrip");
    let mut checks = Vec::new();
    for name in KERAS_MODELS {
        let model = load_keras_model(&fixtures.join(format!("{name}.keras")), Device::Cpu)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let path = out.join(format!("{name}.keras"));
        save_keras_model(model.as_ref(), &path).unwrap_or_else(|e| panic!("{name}: {e}"));
        // convkit reads its own archive back to the same numbers and the same compile state.
        let back = load_keras_model(&path, Device::Cpu).unwrap_or_else(|e| panic!("{name}: {e}"));
        let io = common::read_tensors(fixtures.join(format!("{name}_io.safetensors")));
        let xs: Vec<Tensor> = (0..)
            .map_while(|i| io.get(&format!("x_{i}")).map(|t| t.shallow_clone()))
            .collect();
        for (j, got) in predict_all(back.as_ref(), &xs).iter().enumerate() {
            common::assert_close(
                got,
                &io[&format!("pred_{j}")],
                &format!("{name} output {j}"),
            );
        }
        let (a, b) = (model.compiled().unwrap(), back.compiled().unwrap());
        assert_eq!(a.optimizer.config(), b.optimizer.config(), "{name}");
        assert_eq!(
            a.outputs
                .iter()
                .map(|o| (&o.loss, o.weight))
                .collect::<Vec<_>>(),
            b.outputs
                .iter()
                .map(|o| (&o.loss, o.weight))
                .collect::<Vec<_>>(),
            "{name}"
        );
        checks.push((
            path,
            fixtures.join(format!("{name}_io.safetensors")),
            Some(name),
        ));
    }
    keras_check(&checks);
}

/// A functional model over most of the layer catalogue: channel concatenation of image
/// tensors, a shared layer, depthwise (multiplier 2) and separable convolutions,
/// BatchNormalization, ReLU with a ceiling, pooling, resizing, padding, a transposed
/// convolution, merges and a Flatten feeding a Dense.
fn catalogue_model() -> Functional {
    let same = Padding::Same;
    let mut g = Graph::new();
    let image = g.input_named("image", [3, 16, 16]).unwrap();
    let x = g.apply(Rescaling::new(1.0 / 255.0), image).unwrap();
    let a = g
        .apply(
            Conv2D::new(8, 3)
                .padding(same)
                .activation(Activation::Relu)
                .kernel_initializer(Initializer::HeNormal)
                .kernel_regularizer(Regularizer::L2(1e-4)),
            x,
        )
        .unwrap();
    let b = g
        .apply(DepthwiseConv2D::new(3).depth_multiplier(2).padding(same), x)
        .unwrap();
    let x = g.merge(Concatenate::new(), &[a, b]).unwrap();
    let x = g.apply(BatchNormalization::new(), x).unwrap();
    let x = g.apply(ReLU::new().max_value(6.0), x).unwrap();
    let c = g
        .apply(SeparableConv2D::new(8, 3).padding(same), x)
        .unwrap();
    let d = g.apply(Conv2D::new(8, 3).padding(same), x).unwrap();
    let shared = g.add_layer(Conv2D::new(8, 1).named("shared_1x1")).unwrap();
    let s1 = g.call(shared, &[c]).unwrap();
    let s2 = g.call(shared, &[d]).unwrap();
    let x = g.merge(Add::new(), &[s1, s2]).unwrap();
    let x = g.apply(AveragePooling2D::new(2), x).unwrap();
    let up = g.apply(UpSampling2D::new(2), x).unwrap();
    let up = g.apply(ZeroPadding2D::new(1), up).unwrap();
    let up = g.apply(Resizing::new(8, 8), up).unwrap();
    let down = g
        .apply(MaxPooling2D::new(3).strides(1).padding(same), x)
        .unwrap();
    let x = g.merge(Multiply::new(), &[up, down]).unwrap();
    let t = g.apply(Conv2DTranspose::new(4, 3).strides(2), x).unwrap();
    let t = g.apply(GlobalMaxPooling2D::new(), t).unwrap();
    let f = g.apply(Conv2D::new(2, 3), x).unwrap();
    let f = g.apply(Flatten::new(), f).unwrap();
    let f = g
        .apply(Dense::new(4).activation(Activation::Tanh), f)
        .unwrap();
    let m = g.apply(GlobalAveragePooling2D::new(), x).unwrap();
    let m = g.apply(Dense::new(4), m).unwrap();
    let t = g.apply(Dense::new(4), t).unwrap();
    let x = g.merge(Maximum::new(), &[f, m]).unwrap();
    let x = g.merge(Subtract::new(), &[x, t]).unwrap();
    let x = g.apply(Dropout::new(0.25), x).unwrap();
    let out = g
        .apply(Dense::new(3).activation(Activation::Softmax), x)
        .unwrap();
    g.model("catalogue", &[image], &[out]).unwrap()
}

/// The book's small-data convnet shape: a nested augmentation `Sequential`, Rescaling,
/// convolutions, Flatten, Dropout and a sigmoid Dense, in a `Sequential`.
fn augmented_sequential() -> Sequential {
    let mut m = Sequential::new();
    m.add(ModelLayer::new(Box::new(
        book_augmentation([3, 32, 32], Device::Cpu).unwrap(),
    )))
    .unwrap();
    m.add(Rescaling::new(1.0 / 255.0)).unwrap();
    m.add(Conv2D::new(8, 3).activation(Activation::Relu))
        .unwrap();
    m.add(MaxPooling2D::new(2)).unwrap();
    m.add(Conv2D::new(8, 3).activation(Activation::Elu))
        .unwrap();
    m.add(Flatten::new()).unwrap();
    m.add(Dropout::new(0.5)).unwrap();
    m.add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap();
    m
}

/// Trains `model` a few steps on random data so its optimizer state and BatchNormalization
/// statistics are not their initial values.
fn train_a_little(model: &mut dyn Model, x: &Tensor, classes: i64, optimizer: Box<dyn Optimizer>) {
    let n = x.size()[0];
    let y = Tensor::randint(classes, [n], (Kind::Int64, Device::Cpu));
    convkit_layers::training::compile(
        model,
        optimizer,
        Loss::SparseCategoricalCrossentropy { from_logits: false },
        &[Metric::Accuracy],
    )
    .unwrap();
    convkit_layers::training::fit(
        model,
        x,
        &y,
        FitOptions::new()
            .epochs(1)
            .batch_size(8)
            .verbose(Verbosity::Silent),
    )
    .unwrap();
}

#[test]
fn convkit_models_written_as_keras_predict_the_same_in_keras() {
    tch::manual_seed(0);
    let out = out_dir("keras-export-native");
    let opts = (Kind::Float, Device::Cpu);
    let mut models: Vec<(&str, Box<dyn Model>, Tensor)> = Vec::new();

    let mut mnist = mnist_convnet(Device::Cpu).unwrap();
    let x = Tensor::rand([16, 1, 28, 28], opts);
    train_a_little(&mut mnist, &x, 10, Box::new(RMSprop::new()));
    models.push(("mnist_convnet", Box::new(mnist), x.narrow(0, 0, 4)));

    let mut catalogue = catalogue_model();
    let x = Tensor::rand([16, 3, 16, 16], opts) * 255.0;
    train_a_little(&mut catalogue, &x, 3, Box::new(Adam::new()));
    models.push(("catalogue", Box::new(catalogue), x.narrow(0, 0, 4)));

    let x = Tensor::rand([2, 3, 64, 64], opts) * 255.0;
    models.push((
        "mini_xception",
        Box::new(mini_xception(64, Device::Cpu).unwrap()),
        x,
    ));
    let x = Tensor::rand([2, 3, 64, 64], opts) * 255.0;
    models.push((
        "segmentation",
        Box::new(segmentation_model(64, 3, Device::Cpu).unwrap()),
        x,
    ));
    let x = Tensor::rand([2, 3, 32, 32], opts) * 255.0;
    models.push(("augmented_sequential", Box::new(augmented_sequential()), x));

    let mut checks = Vec::new();
    for (name, model, x) in models {
        let path = out.join(format!("{name}.keras"));
        // `save_model`/`load_model` write and read an archive when the path ends in `.keras`.
        let info = serde_json::json!({"class_names": [name]});
        save_model_with_info(model.as_ref(), &path, Some(&info))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let pred = predict_all(model.as_ref(), std::slice::from_ref(&x));
        let back = load_model(&path, Device::Cpu).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(load_model_info(&path).unwrap(), Some(info), "{name}");
        assert_eq!(
            back.compiled().is_some(),
            model.compiled().is_some(),
            "{name}"
        );
        let again = predict_all(back.as_ref(), std::slice::from_ref(&x));
        for (j, (a, b)) in pred.iter().zip(&again).enumerate() {
            common::assert_close(b, a, &format!("{name} output {j}, read back by convkit"));
        }
        let mut io = vec![("x_0".to_string(), x.shallow_clone())];
        io.extend(
            pred.into_iter()
                .enumerate()
                .map(|(j, p)| (format!("pred_{j}"), p)),
        );
        let io_path = out.join(format!("{name}_io.safetensors"));
        Tensor::write_safetensors(&io, &io_path).unwrap();
        checks.push((path, io_path, None));
    }
    keras_check(&checks);
}
