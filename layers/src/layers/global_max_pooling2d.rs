//! `GlobalMaxPooling2D`: the maximum of each channel (also `pooling="max"` in the
//! applications).

use convkit_tensor::tch::Tensor;

use super::global_pooling_common::{GlobalPooling2D, GlobalReduce};
use crate::Result;

/// Takes each channel's maximum over height and width.
///
/// # Shapes
/// `(N, C, H, W)` -> `(N, C)` (or `(N, C, 1, 1)` with `keepdims`).
pub type GlobalMaxPooling2D = GlobalPooling2D<ChannelMax>;

/// The maximum of each channel.
#[derive(Debug)]
pub struct ChannelMax;

impl GlobalReduce for ChannelMax {
    const CLASS_NAME: &'static str = "GlobalMaxPooling2D";
    const BASE_NAME: &'static str = "global_max_pooling2d";

    fn reduce(x: &Tensor, keepdims: bool) -> Result<Tensor> {
        Ok(x.f_amax([2i64, 3].as_slice(), keepdims)?)
    }
}
