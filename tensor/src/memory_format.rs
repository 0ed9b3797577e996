//! Channels-last convolutions: 4-D activations stored as NHWC in memory while their shape
//! stays `(N, C, H, W)`, PyTorch's `torch.channels_last`. oneDNN's convolutions on CPU and
//! cuDNN's tensor-core kernels on GPU prefer this layout; libtorch picks its channels-last
//! kernels when a convolution's input is so stored, and the elementwise ops, pooling and
//! batch normalization that follow keep it. Shapes, summaries and saved weights do not
//! change: only where the numbers lie in memory.
//!
//! Whether convolutions convert their input is one process-wide setting,
//! [`set_channels_last`] (`--channels-last` of the `convkit` commands, the
//! `CONVKIT_CHANNELS_LAST` variable: `on`, `off` or `auto`), and [`ChannelsLast::Auto`] decides
//! per device ([`uses_channels_last`]).
//!
//! # Example
//! ```
//! use convkit_tensor::memory_format::{is_channels_last, to_channels_last};
//! use convkit_tensor::tch::{Device, Kind, Tensor};
//! let x = Tensor::arange(24, (Kind::Float, Device::Cpu)).view([1, 2, 3, 4]);
//! let y = to_channels_last(&x).unwrap();
//! assert_eq!(y.size(), x.size());
//! assert!(is_channels_last(&y) && !is_channels_last(&x));
//! assert_eq!(y, x);
//! ```

use std::sync::atomic::{AtomicU8, Ordering};

use tch::{Device, Tensor};

use crate::{Error, Result};

/// When convolutions run channels-last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelsLast {
    /// Where it was measured faster: CPU (oneDNN) and CUDA (tensor cores); see
    /// [`uses_channels_last`].
    Auto,
    /// Always (every convolution's input converted once, if it is not already).
    On,
    /// Never: libtorch's NCHW kernels.
    Off,
}

impl std::str::FromStr for ChannelsLast {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(ChannelsLast::Auto),
            "on" | "1" | "true" => Ok(ChannelsLast::On),
            "off" | "0" | "false" => Ok(ChannelsLast::Off),
            other => Err(Error::Invalid(format!(
                "channels-last must be auto, on or off, got '{other}'"
            ))),
        }
    }
}

/// 0: not set yet (read `CONVKIT_CHANNELS_LAST`), then 1 + the setting.
static SETTING: AtomicU8 = AtomicU8::new(0);

fn encode(c: ChannelsLast) -> u8 {
    match c {
        ChannelsLast::Auto => 1,
        ChannelsLast::On => 2,
        ChannelsLast::Off => 3,
    }
}

/// Sets when convolutions run channels-last, for the whole process.
pub fn set_channels_last(setting: ChannelsLast) {
    SETTING.store(encode(setting), Ordering::Relaxed);
}

/// The setting: the last [`set_channels_last`], else `CONVKIT_CHANNELS_LAST`, else
/// [`ChannelsLast::Auto`] (an unreadable variable is reported once and taken as auto).
pub fn channels_last() -> ChannelsLast {
    match SETTING.load(Ordering::Relaxed) {
        2 => ChannelsLast::On,
        3 => ChannelsLast::Off,
        1 => ChannelsLast::Auto,
        _ => {
            let from_env = match std::env::var("CONVKIT_CHANNELS_LAST") {
                Ok(v) => v.parse().unwrap_or_else(|e| {
                    tracing::warn!("CONVKIT_CHANNELS_LAST: {e}; using auto");
                    ChannelsLast::Auto
                }),
                Err(_) => ChannelsLast::Auto,
            };
            set_channels_last(from_env);
            from_env
        }
    }
}

/// Whether convolutions on `device` convert their input to channels-last under the current
/// setting. `Auto` is on for CPU and CUDA (`benches/compare/compare_step.py` measures both
/// layouts against PyTorch's) and off elsewhere (MPS).
pub fn uses_channels_last(device: Device) -> bool {
    match channels_last() {
        ChannelsLast::On => true,
        ChannelsLast::Off => false,
        ChannelsLast::Auto => matches!(device, Device::Cpu | Device::Cuda(_)),
    }
}

/// Whether `t` is a 4-D tensor stored channels-last: its strides are exactly
/// `torch.channels_last`'s (`(H*W*C, 1, W*C, C)`, what libtorch's layout rules and
/// [`to_channels_last`] go by), or NHWC strides on the dimensions above size 1 of a tensor
/// that is not also plainly contiguous.
pub fn is_channels_last(t: &Tensor) -> bool {
    let (size, stride) = (t.size(), t.stride());
    if size.len() != 4 {
        return false;
    }
    // (`[N, 1, 1, 1]`: both layouts have the same strides, and it counts as channels-last.)
    if stride == channels_last_strides(&size) {
        return true;
    }
    // Dimensions from the innermost in memory: C, W, H, N.
    let mut expected = 1i64;
    for d in [1usize, 3, 2, 0] {
        if size[d] != 1 && stride[d] != expected {
            return false;
        }
        expected *= size[d];
    }
    // A tensor that is also plainly contiguous (C == 1, or H == W == 1) with NCHW's strides
    // counts as NCHW, as libtorch's `suggest_memory_format` says.
    !t.is_contiguous()
}

/// `torch.channels_last`'s strides of an `(N, C, H, W)` size: `(H*W*C, 1, W*C, C)`.
fn channels_last_strides(size: &[i64]) -> Vec<i64> {
    let (c, h, w) = (size[1], size[2], size[3]);
    vec![h * w * c, 1, w * c, c]
}

/// `t` (4-D) stored channels-last, the same values and shape; other tensors are returned
/// as they are (a shallow clone). Differentiable.
pub fn to_channels_last(t: &Tensor) -> Result<Tensor> {
    if t.dim() != 4 || is_channels_last(t) {
        return Ok(t.shallow_clone());
    }
    let size = t.size();
    if t.is_contiguous() && (size[1] == 1 || size[2] * size[3] == 1) {
        // One channel (or one pixel): NCHW and NHWC put every element at the same place, and
        // a permuted copy would keep NCHW's strides. libtorch picks a convolution's output
        // layout from its input's strides, so give the same memory channels-last's strides
        // (without them the book's MNIST net runs its first pooling on NCHW, 10x slower).
        return Ok(t.f_as_strided(size.as_slice(), channels_last_strides(&size), None)?);
    }
    Ok(t.f_permute([0, 2, 3, 1])?
        .f_contiguous()?
        .f_permute([0, 3, 1, 2])?)
}

/// A convolution's input as [`uses_channels_last`] wants it on its device.
pub fn conv_input(x: &Tensor) -> Result<Tensor> {
    if uses_channels_last(x.device()) {
        to_channels_last(x)
    } else {
        Ok(x.shallow_clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    #[test]
    fn layouts_are_told_apart() {
        let x = Tensor::zeros([2, 3, 4, 5], (Kind::Float, Device::Cpu));
        assert!(!is_channels_last(&x));
        let y = to_channels_last(&x).unwrap();
        assert!(is_channels_last(&y));
        assert_eq!(y.stride(), vec![60, 1, 15, 3]);
        // A permuted NHWC tensor seen as NCHW is channels-last too.
        let nhwc = Tensor::zeros([2, 4, 5, 3], (Kind::Float, Device::Cpu));
        assert!(is_channels_last(&nhwc.permute([0, 3, 1, 2])));
        // One channel: the same memory either way; NCHW's strides count as NCHW, and the
        // conversion gives it torch.channels_last's strides as a view of the same values.
        let one = Tensor::arange(40, (Kind::Float, Device::Cpu)).reshape([2, 1, 4, 5]);
        assert!(!is_channels_last(&one));
        let cl = to_channels_last(&one).unwrap();
        assert!(is_channels_last(&cl));
        assert_eq!(cl.stride(), vec![20, 1, 5, 1]);
        assert_eq!(cl.data_ptr(), one.data_ptr());
        assert!(cl.equal(&one));
        // libtorch decides a convolution's output layout from its input's strides: the view
        // makes it write channels-last (what the conversion is for), NCHW's strides NCHW.
        let w = Tensor::ones([8, 1, 3, 3], (Kind::Float, Device::Cpu));
        let conv = |x: &Tensor| x.conv2d(&w, None::<Tensor>, [1, 1], [0, 0], [1, 1], 1);
        assert_eq!(conv(&cl).stride(), vec![48, 1, 24, 8]);
        assert_eq!(conv(&one).stride(), vec![48, 6, 3, 1]);
        // One pixel likewise.
        let pixel = Tensor::arange(6, (Kind::Float, Device::Cpu)).reshape([2, 3, 1, 1]);
        assert_eq!(to_channels_last(&pixel).unwrap().stride(), vec![3, 1, 3, 3]);
        // Not 4-D: left alone.
        let v = Tensor::zeros([3, 4], (Kind::Float, Device::Cpu));
        assert_eq!(to_channels_last(&v).unwrap().stride(), vec![4, 1]);
    }

    #[test]
    fn settings_parse() {
        assert_eq!("AUTO".parse::<ChannelsLast>().unwrap(), ChannelsLast::Auto);
        assert_eq!("off".parse::<ChannelsLast>().unwrap(), ChannelsLast::Off);
        assert_eq!("1".parse::<ChannelsLast>().unwrap(), ChannelsLast::On);
        assert!("sideways".parse::<ChannelsLast>().is_err());
    }
}
