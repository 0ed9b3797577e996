//! A convkit model's weights (and its optimizer's variables) as Keras 3's `model.weights.h5`:
//! the reverse of [`super::weights_h5`].
//!
//! # Layout
//! `layers/<key>/vars/<i>` per layer in the layer's own order, `<key>` Keras' container key
//! (class in snake case, numbered per class); a nested model's layers under
//! `layers/<key>/layers/...`; every `vars` group names its layer in a `name` attribute, as
//! Keras writes it. Kernels are written in Keras' channels-last layouts
//! ([`KerasLayouts::to_keras`]). `optimizer/vars/<i>`: the iteration count (int64), the
//! learning rate (when it is a number), then the slots in Keras' order.

use convkit_tensor::tch::{Device, Kind, Tensor};
use hdf5_pure::{AttrValue, FileBuilder, FinishedGroup, GroupBuilder};
use serde_json::Value;

use super::compile_export::keras_optimizer_class;
use super::compile_import::{slot_blocks, trainable_weight_names};
use super::weights_h5::container_keys;
use crate::models::model::Model;
use crate::saving::import::keras_layout::KerasLayouts;
use crate::{Error, Result};

fn write_error(model: &dyn Model, problem: impl std::fmt::Display) -> Error {
    Error::Model {
        model: model.name().to_string(),
        problem: format!("cannot write model.weights.h5: {problem}"),
    }
}

/// Adds `t` (any float kind, any device) to `group` as float32 dataset `name`.
fn put_f32(group: &mut GroupBuilder, name: &str, t: &Tensor) -> Result<()> {
    let t = t
        .f_detach()?
        .f_to_device(Device::Cpu)?
        .f_to_kind(Kind::Float)?
        .f_contiguous()?;
    let shape: Vec<u64> = t.size().iter().map(|&d| d as u64).collect();
    let values = Vec::<f32>::try_from(t.f_reshape([-1])?)?;
    group
        .create_dataset(name)
        .with_f32_data(&values)
        .with_shape(&shape);
    Ok(())
}

/// Names `owner` in a `vars` group (Keras writes one for every layer and model).
fn name_vars(mut vars: GroupBuilder, owner: &str) -> GroupBuilder {
    vars.set_attr("name", AttrValue::String(owner.to_string()));
    vars
}

/// Fills the `layers` group of `model` (recursing into nested models). `prefix` is convkit's
/// name prefix of the model's weights (`sequential/`).
fn fill_layers(
    group: &mut GroupBuilder,
    model: &dyn Model,
    layouts: &KerasLayouts,
    prefix: &str,
) -> Result<()> {
    for (layer, key) in model.layers().into_iter().zip(container_keys(model)) {
        let mut entry = group.create_group(&key);
        let name = format!("{prefix}{}", layer.name());
        let mut vars = name_vars(entry.create_group("vars"), layer.name());
        if let Some(inner) = layer.as_model() {
            let mut sub = entry.create_group("layers");
            fill_layers(&mut sub, inner, layouts, &format!("{name}/"))?;
            entry.add_group(sub.finish());
        } else {
            for (i, (param, p)) in layer.named_params().into_iter().enumerate() {
                let weight = format!("{name}/{param}");
                put_f32(
                    &mut vars,
                    &i.to_string(),
                    &layouts.to_keras(&weight, &p.tensor)?,
                )?;
            }
        }
        entry.add_group(vars.finish());
        group.add_group(entry.finish());
    }
    Ok(())
}

/// The `optimizer` group: iteration count, learning rate, slots in Keras' order (zeros for an
/// optimizer that has not stepped yet, as Keras' freshly built one has).
fn optimizer_group(
    file: &mut FileBuilder,
    model: &dyn Model,
    layouts: &KerasLayouts,
) -> Result<Option<FinishedGroup>> {
    let Some(compiled) = model.compiled() else {
        return Ok(None);
    };
    let config = compiled.optimizer.config();
    let name = config.get("name").and_then(Value::as_str).unwrap_or("");
    let class = keras_optimizer_class(name)
        .ok_or_else(|| write_error(model, format!("optimizer '{name}' has no Keras equivalent")))?;
    let state: std::collections::HashMap<String, Tensor> =
        compiled.optimizer.state()?.into_iter().collect();
    let iterations = match state.get("iterations") {
        Some(t) => t.f_int64_value(&[0])?,
        None => 0,
    };
    let mut group = file.create_group("optimizer");
    let mut vars = name_vars(group.create_group("vars"), name);
    vars.create_dataset("0")
        .with_i64_data(&[iterations])
        .with_shape(&[]);
    let mut index = 1;
    if config.get("learning_rate").is_some_and(Value::is_number) {
        let lr = compiled.optimizer.learning_rate() as f32;
        vars.create_dataset("1")
            .with_f32_data(&[lr])
            .with_shape(&[]);
        index = 2;
    }
    let names = trainable_weight_names(model);
    if names.len() != compiled.trainable.len() {
        return Err(write_error(
            model,
            format!(
                "the optimizer updates {} tensors, the model has {} trainable weights (compile \
                 the model again after changing `trainable`)",
                compiled.trainable.len(),
                names.len()
            ),
        ));
    }
    let slots = compiled.optimizer.slot_names();
    for block in slot_blocks(class, &slots) {
        for (i, (weight, param)) in names.iter().zip(&compiled.trainable).enumerate() {
            for slot in &block {
                let value = match state.get(&format!("{slot}_{i}")) {
                    Some(t) => t.shallow_clone(),
                    None => param.f_zeros_like()?,
                };
                put_f32(
                    &mut vars,
                    &index.to_string(),
                    &layouts.to_keras(weight, &value)?,
                )?;
                index += 1;
            }
        }
    }
    group.add_group(vars.finish());
    Ok(Some(group.finish()))
}

/// `model.weights.h5` of `model`, as bytes; with `optimizer`, the compiled model's optimizer
/// variables too (an archive's), without them what Keras' `save_weights` writes.
pub(crate) fn keras_weights_h5(model: &dyn Model, optimizer: bool) -> Result<Vec<u8>> {
    let layouts = KerasLayouts::of(model);
    let mut file = FileBuilder::new();
    let mut layers = file.create_group("layers");
    fill_layers(&mut layers, model, &layouts, "")?;
    file.add_group(layers.finish());
    if optimizer {
        if let Some(group) = optimizer_group(&mut file, model, &layouts)? {
            file.add_group(group);
        }
    }
    let vars = name_vars(file.create_group("vars"), model.name());
    file.add_group(vars.finish());
    file.finish().map_err(|e| write_error(model, e))
}

/// Writes `model`'s weights as a Keras 3 `.weights.h5` file at `path` (through a temporary
/// file and a rename), as Keras' `model.save_weights("x.weights.h5")` does; Keras reads it
/// with `model.load_weights`.
pub fn save_keras_weights_h5(model: &dyn Model, path: &std::path::Path) -> Result<()> {
    let bytes = keras_weights_h5(model, false).map_err(|e| Error::file(path, e))?;
    convkit_tensor::atomic::write_bytes_atomic(path, &bytes)?;
    Ok(())
}
