//! ImageNet class names and `decode_predictions`.

use convkit_tensor::tch::{Kind, Tensor};

use crate::{Error, Result};

/// One predicted class.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Class index (0..1000).
    pub index: i64,
    /// Human-readable class name (`"Egyptian cat"`).
    pub name: String,
    /// Probability.
    pub probability: f64,
}

/// The ImageNet class names, in index order.
pub fn class_names() -> &'static [&'static str; 1000] {
    &convkit_tensor::tch::vision::imagenet::CLASSES
}

/// Keras' `decode_predictions`: for each row of `probs` `(N, 1000)`, the `top` classes with
/// their names, most probable first.
pub fn decode_predictions(probs: &Tensor, top: usize) -> Result<Vec<Vec<Prediction>>> {
    let size = probs.size();
    if size.len() != 2 || size[1] != 1000 {
        return Err(Error::Targets {
            what: "decode_predictions".into(),
            problem: format!("expects (N, 1000) ImageNet probabilities, got {size:?}"),
        });
    }
    let k = (top as i64).clamp(1, 1000);
    let (values, indices) = probs.f_to_kind(Kind::Double)?.f_topk(k, 1, true, true)?;
    let mut out = Vec::with_capacity(size[0] as usize);
    for row in 0..size[0] {
        let mut preds = Vec::with_capacity(k as usize);
        for j in 0..k {
            let index = indices.f_int64_value(&[row, j])?;
            preds.push(Prediction {
                index,
                name: class_names()[index as usize].to_string(),
                probability: values.f_double_value(&[row, j])?,
            });
        }
        out.push(preds);
    }
    Ok(out)
}
