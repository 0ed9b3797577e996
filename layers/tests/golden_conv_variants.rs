//! Golden tests of SeparableConv2D, DepthwiseConv2D, Conv2DTranspose, ZeroPadding2D,
//! UpSampling2D, Resizing, ReLU, the merge layers and global pooling against Keras 3.15.1
//! (torch backend).
//!
//! Fixtures: `layers/tests/fixtures/keras_conv_variants.{json,safetensors}`, made by
//! `scripts/fixtures/make_keras_conv_variants.py`: for each case, `getattr(keras.layers,
//! class)(**config)` built on `x`, weights set to normal * 0.5 and stored under their Keras
//! names (`<case>/depthwise_kernel`...), output `y` (NHWC). Here the same layer is built from
//! the same configuration, the Keras weights are imported by name (layouts converted by the
//! importer), and `y` is compared in NCHW. Tolerance: |a - b| <= 1e-4 * |b| + 1e-5.

use std::collections::HashMap;
use std::path::Path;

use convkit_layers::prelude::*;
use convkit_layers::saving::import::keras::assign_keras_tensors;
use convkit_layers::Pair;
use convkit_tensor::tch::{Kind, Tensor};
use serde_json::Value;

fn pair(v: &Value) -> Pair {
    match v {
        Value::Array(a) => Pair(a[0].as_i64().unwrap(), a[1].as_i64().unwrap()),
        v => Pair::from(v.as_i64().unwrap()),
    }
}

fn padding(c: &Value) -> Padding {
    match c.get("padding").and_then(|p| p.as_str()) {
        Some("same") => Padding::Same,
        _ => Padding::Valid,
    }
}

fn activation(c: &Value) -> Activation {
    c.get("activation")
        .and_then(|a| a.as_str())
        .map(|a| Activation::from_name(a).unwrap())
        .unwrap_or(Activation::Linear)
}

fn interpolation(c: &Value, default: ResizeInterpolation) -> ResizeInterpolation {
    match c.get("interpolation").and_then(|i| i.as_str()) {
        Some("bilinear") => ResizeInterpolation::Bilinear,
        Some("nearest") => ResizeInterpolation::Nearest,
        Some("bicubic") => ResizeInterpolation::Bicubic,
        Some(other) => panic!("interpolation {other}"),
        None => default,
    }
}

/// Our layer for a Keras class and constructor arguments.
fn layer_for(class: &str, c: &Value) -> Box<dyn Layer> {
    let get = |k: &str| c.get(k).filter(|v| !v.is_null());
    let int = |k: &str, d: i64| get(k).map(|v| v.as_i64().unwrap()).unwrap_or(d);
    let pr = |k: &str| get(k).map(pair).unwrap_or(Pair(1, 1));
    let bias = get("use_bias")
        .map(|b| b.as_bool().unwrap())
        .unwrap_or(true);
    match class {
        "SeparableConv2D" => Box::new(
            SeparableConv2D::new(int("filters", 0), pair(get("kernel_size").unwrap()))
                .strides(pr("strides"))
                .padding(padding(c))
                .depth_multiplier(int("depth_multiplier", 1))
                .dilation_rate(pr("dilation_rate"))
                .activation(activation(c))
                .use_bias(bias),
        ),
        "DepthwiseConv2D" => Box::new(
            DepthwiseConv2D::new(pair(get("kernel_size").unwrap()))
                .strides(pr("strides"))
                .padding(padding(c))
                .depth_multiplier(int("depth_multiplier", 1))
                .dilation_rate(pr("dilation_rate"))
                .activation(activation(c))
                .use_bias(bias),
        ),
        "Conv2DTranspose" => {
            let mut l = Conv2DTranspose::new(int("filters", 0), pair(get("kernel_size").unwrap()))
                .strides(pr("strides"))
                .padding(padding(c))
                .dilation_rate(pr("dilation_rate"))
                .activation(activation(c))
                .use_bias(bias);
            if let Some(op) = get("output_padding") {
                l = l.output_padding(pair(op));
            }
            Box::new(l)
        }
        "ZeroPadding2D" => Box::new(match get("padding").unwrap() {
            Value::Array(a) if a[0].is_array() => ZeroPadding2D::asymmetric([
                [a[0][0].as_i64().unwrap(), a[0][1].as_i64().unwrap()],
                [a[1][0].as_i64().unwrap(), a[1][1].as_i64().unwrap()],
            ]),
            Value::Array(a) => {
                ZeroPadding2D::symmetric(a[0].as_i64().unwrap(), a[1].as_i64().unwrap())
            }
            v => ZeroPadding2D::new(v.as_i64().unwrap()),
        }),
        "UpSampling2D" => Box::new(
            UpSampling2D::new(get("size").map(pair).unwrap_or(Pair(2, 2)))
                .interpolation(interpolation(c, ResizeInterpolation::Nearest)),
        ),
        "Resizing" => Box::new(
            Resizing::new(int("height", 0), int("width", 0))
                .interpolation(interpolation(c, ResizeInterpolation::Bilinear))
                .crop_to_aspect_ratio(
                    get("crop_to_aspect_ratio").is_some_and(|v| v.as_bool().unwrap()),
                ),
        ),
        "ReLU" => {
            let mut l = ReLU::new();
            if let Some(m) = get("max_value") {
                l = l.max_value(m.as_f64().unwrap());
            }
            if let Some(s) = get("negative_slope") {
                l = l.negative_slope(s.as_f64().unwrap());
            }
            if let Some(t) = get("threshold") {
                l = l.threshold(t.as_f64().unwrap());
            }
            Box::new(l)
        }
        "Add" => Box::new(Add::new()),
        "Subtract" => Box::new(Subtract::new()),
        "Multiply" => Box::new(Multiply::new()),
        "Average" => Box::new(Average::new()),
        "Maximum" => Box::new(Maximum::new()),
        "Minimum" => Box::new(Minimum::new()),
        "Concatenate" => Box::new(Concatenate::new()),
        "GlobalMaxPooling2D" => {
            Box::new(GlobalMaxPooling2D::new().keepdims(get("keepdims").is_some_and(|k| k == true)))
        }
        "GlobalAveragePooling2D" => Box::new(
            GlobalAveragePooling2D::new().keepdims(get("keepdims").is_some_and(|k| k == true)),
        ),
        other => panic!("no mapping for Keras class {other}"),
    }
}

/// NHWC to NCHW; 2-D outputs (global pooling without keepdims) are already (N, C).
fn nhwc_to_nchw(t: &Tensor) -> Tensor {
    if t.dim() == 2 {
        return t.shallow_clone();
    }
    t.permute([0, 3, 1, 2]).contiguous()
}

#[test]
fn layers_match_keras() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let meta: serde_json::Map<String, Value> =
        serde_json::from_slice(&std::fs::read(dir.join("keras_conv_variants.json")).unwrap())
            .unwrap();
    let tensors: HashMap<String, Tensor> =
        Tensor::read_safetensors(dir.join("keras_conv_variants.safetensors"))
            .unwrap()
            .into_iter()
            .collect();
    let mut checked = 0;
    for (case, m) in &meta {
        let class = m["class"].as_str().unwrap();
        let config = &m["config"];
        let prefix = format!("{case}/");
        let inputs: Vec<Tensor> = ["x", "x0", "x1", "x2"]
            .iter()
            .filter_map(|n| tensors.get(&format!("{prefix}{n}")))
            .map(nhwc_to_nchw)
            .collect();
        let mut g = Graph::new();
        let syms: Vec<SymbolicTensor> = inputs
            .iter()
            .map(|x| g.input(x.size()[1..].to_vec()))
            .collect();
        let mut layer = layer_for(class, config);
        layer.common_mut().name = Some(case.clone());
        let id = g.add_layer(layer).unwrap();
        let out = g.call(id, &syms).unwrap();
        let mut model = g.model("golden", &syms, &[out]).unwrap();
        let weights: Vec<(String, Tensor)> = tensors
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .filter(|(k, _)| !matches!(&k[prefix.len()..], "x" | "x0" | "x1" | "x2" | "y"))
            .map(|(k, t)| (k.clone(), t.shallow_clone()))
            .collect();
        assign_keras_tensors(&mut model, Path::new(case), weights).unwrap();
        let refs: Vec<&Tensor> = inputs.iter().collect();
        let y = model.forward_all(&refs, false).unwrap().remove(0);
        let want = nhwc_to_nchw(&tensors[&format!("{prefix}y")]);
        assert_eq!(y.size(), want.size(), "{case}: shape");
        let (a, b) = (y.to_kind(Kind::Double), want.to_kind(Kind::Double));
        let excess = ((&a - &b).abs() - b.abs() * 1e-4 - 1e-5).max();
        let worst = f64::try_from((&a - &b).abs().max()).unwrap();
        assert!(
            f64::try_from(excess).unwrap() <= 0.0,
            "{case}: max |diff| {worst}"
        );
        checked += 1;
    }
    assert!(checked >= 47, "only {checked} cases");
}
