//! The functional API: graphs, merges, nesting, sub-models, saving, and its errors; weight
//! import errors.

use convkit_layers::prelude::*;
use convkit_layers::saving::import::keras::load_keras_weights;
use convkit_tensor::tch::{Device, Kind, Tensor};

/// Input (3, 8, 8) -> conv -> [conv, identity] -> add -> GAP -> dense.
fn small_residual() -> Functional {
    let mut g = Graph::new();
    let inputs = g.input([3, 8, 8]);
    let x = g
        .apply(Conv2D::new(4, 3).padding(Padding::Same).named("c1"), inputs)
        .unwrap();
    let y = g
        .apply(Conv2D::new(4, 3).padding(Padding::Same).named("c2"), x)
        .unwrap();
    let s = g.merge(Add::new(), &[y, x]).unwrap();
    let p = g.apply(GlobalAveragePooling2D::new(), s).unwrap();
    let out = g.apply(Dense::new(2).named("head"), p).unwrap();
    g.model("small", &[inputs], &[out]).unwrap()
}

#[test]
fn residual_graph_runs_and_summarises_connections() {
    let m = small_residual();
    let names: Vec<&str> = m.layers().iter().map(|l| l.name()).collect();
    assert_eq!(
        names,
        [
            "input_layer",
            "c1",
            "c2",
            "add",
            "global_average_pooling2d",
            "head"
        ]
    );
    let x = Tensor::randn([5, 3, 8, 8], (Kind::Float, Device::Cpu));
    assert_eq!(m.predict(&x, 2).unwrap().size(), [5, 2]);
    let text = m.summary().to_string();
    assert!(text.contains("Connected to"), "{text}");
    assert!(
        text.contains("c2[0][0]") && text.contains("c1[0][0]"),
        "{text}"
    );
    // The add equals c2(c1(x)) + c1(x), computed by hand.
    let [c1, c2] = m
        .layer_outputs(&x, &["c1", "c2"], false)
        .unwrap()
        .try_into()
        .unwrap();
    let add = m.layer_outputs(&x, &["add"], false).unwrap().remove(0);
    assert!(add.allclose(&(&c1 + &c2), 1e-6, 1e-6, false));
}

#[test]
fn sub_models_share_weights() {
    let m = small_residual();
    let x = Tensor::randn([2, 3, 8, 8], (Kind::Float, Device::Cpu));
    let acts = SubModel::outputs(&m, &["c1", "add"])
        .unwrap()
        .predict(&x)
        .unwrap();
    assert_eq!(acts[0].size(), [2, 4, 8, 8]);
    // "The rest" after the add reproduces the full model.
    let rest = SubModel::after(&m, "add")
        .unwrap()
        .predict(&acts[1])
        .unwrap();
    let full = m.predict(&x, 2).unwrap();
    assert!(rest[0].allclose(&full, 1e-6, 1e-6, false));
    // The rest after c1 also needs c1's output twice (residual), which it has.
    SubModel::after(&m, "c1")
        .unwrap()
        .predict(&acts[0])
        .unwrap();
}

#[test]
fn unknown_layers_and_cycles_are_clear_errors() {
    let m = small_residual();
    let e = m.get_layer("conv2d_9").unwrap_err().to_string();
    assert!(
        e.contains("no layer named 'conv2d_9'") && e.contains("c1, c2"),
        "{e}"
    );
    assert!(SubModel::outputs(&m, &["nope"]).is_err());

    // A saved architecture whose nodes form a cycle: c1 <- c2 <- c1.
    let mut arch = m.architecture();
    let nodes = arch["config"]["nodes"].as_array_mut().unwrap();
    nodes[1]["inputs"] = serde_json::json!([2]);
    let e = Functional::from_architecture(&arch, Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cycle") && e.contains("c1") && e.contains("c2"),
        "{e}"
    );
}

#[test]
fn functional_models_save_and_load_with_nested_models() {
    let inner = small_residual();
    let mut g = Graph::new();
    let inputs = g.input([3, 8, 8]);
    let x = g.apply(inner, inputs).unwrap();
    let out = g
        .apply(Dense::new(1).activation(Activation::Sigmoid), x)
        .unwrap();
    let mut model = g.model("outer", &[inputs], &[out]).unwrap();
    model
        .compile(
            RMSprop::new(),
            Loss::from_name("binary_crossentropy").unwrap(),
            &[Metric::Accuracy],
        )
        .unwrap();
    let names: Vec<String> = model.named_params().into_iter().map(|(n, _)| n).collect();
    assert!(names.contains(&"small/c1/kernel".to_string()), "{names:?}");
    let dir = tempfile::tempdir().unwrap();
    model.save(dir.path()).unwrap();
    let back = load_model(dir.path(), Device::Cpu).unwrap();
    let x = Tensor::randn([3, 3, 8, 8], (Kind::Float, Device::Cpu));
    let a = model.predict(&x, 3).unwrap();
    let b = back.predict(&x, 3).unwrap();
    assert!(a.allclose(&b, 1e-6, 1e-6, false));
    assert_eq!(back.class_name(), "Functional");
}

#[test]
fn several_inputs_and_outputs() {
    let mut g = Graph::new();
    let a = g.input_named("image", [1, 4, 4]).unwrap();
    let b = g.input_named("meta", [3]).unwrap();
    let fa = g.apply(Flatten::new(), a).unwrap();
    let both = g.merge(Concatenate::new(), &[fa, b]).unwrap();
    assert_eq!(g.shape(both), [19]);
    let o1 = g.apply(Dense::new(2).named("priority"), both).unwrap();
    let o2 = g.apply(Dense::new(5).named("department"), both).unwrap();
    let m = g.model("multi", &[a, b], &[o1, o2]).unwrap();
    let xa = Tensor::randn([4, 1, 4, 4], (Kind::Float, Device::Cpu));
    let xb = Tensor::randn([4, 3], (Kind::Float, Device::Cpu));
    let outs = m.forward_all(&[&xa, &xb], false).unwrap();
    assert_eq!(outs[0].size(), [4, 2]);
    assert_eq!(outs[1].size(), [4, 5]);
    assert!(
        m.forward(&xa, false).is_err(),
        "one batch for two inputs is refused"
    );
}

#[test]
fn shared_layers_reuse_weights() {
    let mut g = Graph::new();
    let a = g.input([6]);
    let b = g.input([6]);
    let dense = g.add_layer(Dense::new(3).named("shared")).unwrap();
    let ya = g.call(dense, &[a]).unwrap();
    let yb = g.call(dense, &[b]).unwrap();
    let d = g.merge(Subtract::new(), &[ya, yb]).unwrap();
    let m = g.model("siamese", &[a, b], &[d]).unwrap();
    assert_eq!(m.count_params(), 21);
    let x = Tensor::randn([2, 6], (Kind::Float, Device::Cpu));
    let out = m.forward_all(&[&x, &x], false).unwrap();
    assert_eq!(f64::try_from(out[0].abs().max()).unwrap(), 0.0);
}

#[test]
fn weight_import_names_every_missing_or_misshapen_tensor() {
    let mut m = small_residual();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.safetensors");
    // Keras layouts: conv kernels (kh, kw, in, out); c2's kernel has the wrong shape and the
    // head's bias is missing.
    let t = |s: &[i64]| Tensor::zeros(s, (Kind::Float, Device::Cpu));
    let tensors = [
        ("c1/kernel", t(&[3, 3, 3, 4])),
        ("c1/bias", t(&[4])),
        ("c2/kernel", t(&[3, 3, 3, 4])),
        ("c2/bias", t(&[4])),
        ("head/kernel", t(&[4, 2])),
    ];
    Tensor::write_safetensors(&tensors, &path).unwrap();
    let e = load_keras_weights(&mut m, &path).unwrap_err().to_string();
    assert!(
        e.contains("tensor 'c2/kernel' has shape [4, 3, 3, 3]"),
        "{e}"
    );
    assert!(e.contains("missing tensor 'head/bias'"), "{e}");
    assert!(!e.contains("'c1/kernel'"), "{e}");

    // A truncated file is refused, naming the file.
    let bytes = std::fs::read(&path).unwrap();
    let cut = dir.path().join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    let e = load_keras_weights(&mut m, &cut).unwrap_err().to_string();
    assert!(e.contains("cut.safetensors"), "{e}");
}
