//! What losses and metrics accept as targets, checked against the predictions' shape.

use convkit_tensor::tch::{Kind, Tensor};

use crate::error::full_shape_string;

/// Integer class targets for predictions `(N, classes, ...)`: `(N, ...)`, or `(N, 1, ...)`
/// squeezed, as Int64; otherwise the message says which shape was expected.
pub(crate) fn sparse_targets(
    y_true: &Tensor,
    y_pred: &Tensor,
) -> std::result::Result<Tensor, String> {
    let mut expected = y_pred.size();
    if expected.len() < 2 {
        return Err(format!(
            "predictions of shape {:?} need a class axis (N, classes, ...)",
            y_pred.size()
        ));
    }
    expected.remove(1);
    let t = if y_true.size() == expected {
        y_true.shallow_clone()
    } else if y_true.dim() == expected.len() + 1 && y_true.size().get(1) == Some(&1) {
        y_true.f_squeeze_dim(1).map_err(|e| e.to_string())?
    } else {
        return Err(format!(
            "expected integer targets of shape {} for predictions of shape {}, got targets of shape {}",
            full_shape_string(&expected),
            full_shape_string(&y_pred.size()),
            full_shape_string(&y_true.size())
        ));
    };
    t.f_to_kind(Kind::Int64).map_err(|e| e.to_string())
}

/// Keras' `squeeze_or_expand_to_same_rank`: targets `(N, ...)` for predictions
/// `(N, ..., 1)` gain the trailing axis, targets `(N, ..., 1)` for predictions `(N, ...)`
/// lose it (the book's integer labels `(N,)` against a sigmoid `(N, 1)`); other shapes come
/// back as they are, for the loss or metric to check.
pub(crate) fn same_rank(y_true: &Tensor, y_pred: &Tensor) -> convkit_tensor::Result<Tensor> {
    let (t, p) = (y_true.size(), y_pred.size());
    Ok(if t.len() + 1 == p.len() && p.last() == Some(&1) {
        y_true.f_unsqueeze(-1)?
    } else if p.len() + 1 == t.len() && t.last() == Some(&1) {
        y_true.f_squeeze_dim(-1)?
    } else {
        y_true.shallow_clone()
    })
}
