//! `AveragePooling2D`: mean over windows; with `same`, padded cells are not counted (the TF
//! and JAX rule; Keras' torch backend replicates edges when the padding is asymmetric).

use convkit_tensor::tch::Tensor;

use super::pooling_common::{PoolKind, Pooling2D};
use crate::layers::padding::is_symmetric;
use crate::Result;

/// Average pooling.
pub type AveragePooling2D = Pooling2D<Average>;

/// The mean of the real cells of each window.
#[derive(Debug)]
pub struct Average;

impl PoolKind for Average {
    const CLASS_NAME: &'static str = "AveragePooling2D";
    const BASE_NAME: &'static str = "average_pooling2d";

    fn pool(x: &Tensor, k: [i64; 2], s: [i64; 2], pads: [(i64, i64); 2]) -> Result<Tensor> {
        if is_symmetric(&pads) {
            return Ok(x.f_avg_pool2d(k, s, [pads[0].0, pads[1].0], false, false, None)?);
        }
        // Asymmetric padding: mean of the real cells = pooled sum of x / pooled count of cells.
        let size = x.size();
        let pad = [pads[1].0, pads[1].1, pads[0].0, pads[0].1];
        let sums = x
            .f_constant_pad_nd(pad)?
            .f_avg_pool2d(k, s, [0, 0], false, true, 1)?;
        let ones = Tensor::f_ones([1, 1, size[2], size[3]], (x.kind(), x.device()))?;
        let counts = ones
            .f_constant_pad_nd(pad)?
            .f_avg_pool2d(k, s, [0, 0], false, true, 1)?;
        Ok(sums.f_div(&counts)?)
    }
}
