//! `MaxPooling2D`: maximum over windows; strides default to the window size; `same` pads with
//! -inf, TF-style.

use convkit_tensor::tch::Tensor;

use super::pooling_common::{PoolKind, Pooling2D};
use crate::layers::padding::is_symmetric;
use crate::Result;

/// Max pooling. `MaxPooling2D::new(2)` halves height and width (floor).
pub type MaxPooling2D = Pooling2D<Max>;

/// The maximum of each window.
#[derive(Debug)]
pub struct Max;

impl PoolKind for Max {
    const CLASS_NAME: &'static str = "MaxPooling2D";
    const BASE_NAME: &'static str = "max_pooling2d";

    fn pool(x: &Tensor, k: [i64; 2], s: [i64; 2], pads: [(i64, i64); 2]) -> Result<Tensor> {
        if is_symmetric(&pads) {
            return Ok(x.f_max_pool2d(k, s, [pads[0].0, pads[1].0], [1, 1], false)?);
        }
        let pad = [pads[1].0, pads[1].1, pads[0].0, pads[0].1];
        Ok(x.f_pad(pad, "constant", f64::NEG_INFINITY)?.f_max_pool2d(
            k,
            s,
            [0, 0],
            [1, 1],
            false,
        )?)
    }
}
