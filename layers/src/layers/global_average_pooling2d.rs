//! `GlobalAveragePooling2D`: the mean of each channel.

use convkit_tensor::tch::{Kind, Tensor};

use super::global_pooling_common::{GlobalPooling2D, GlobalReduce};
use crate::Result;

/// Averages each channel over height and width.
///
/// # Shapes
/// `(N, C, H, W)` -> `(N, C)` (or `(N, C, 1, 1)` with `keepdims`).
pub type GlobalAveragePooling2D = GlobalPooling2D<ChannelMean>;

/// The mean of each channel.
#[derive(Debug)]
pub struct ChannelMean;

impl GlobalReduce for ChannelMean {
    const CLASS_NAME: &'static str = "GlobalAveragePooling2D";
    const BASE_NAME: &'static str = "global_average_pooling2d";

    fn reduce(x: &Tensor, keepdims: bool) -> Result<Tensor> {
        Ok(x.f_mean_dim([2i64, 3].as_slice(), keepdims, Kind::Float)?)
    }
}
