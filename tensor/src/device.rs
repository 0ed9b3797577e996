//! Where tensors live: [`Device::Auto`] picks CUDA when a GPU answers, else the CPU.

use std::fmt;
use std::str::FromStr;

use crate::{Error, Result};

/// The environment variable read by [`Device::from_env`].
pub const DEVICE_ENV: &str = "CONVKIT_DEVICE";

/// A compute device, as chosen by the user.
///
/// # Example
/// ```
/// use convkit_tensor::Device;
/// let d: Device = "cuda:1".parse().unwrap();
/// assert_eq!(d, Device::Cuda(1));
/// assert_eq!("cpu".parse::<Device>().unwrap().resolve().unwrap(), tch::Device::Cpu);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Device {
    /// CUDA device 0 when a GPU answers, else the CPU.
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// CUDA device `n`.
    Cuda(usize),
}

impl Device {
    /// Reads `CONVKIT_DEVICE`; [`Device::Auto`] when unset or empty.
    pub fn from_env() -> Result<Device> {
        match std::env::var(DEVICE_ENV) {
            Ok(s) if !s.trim().is_empty() => s.parse(),
            _ => Ok(Device::Auto),
        }
    }

    /// The libtorch device this choice means on this machine.
    ///
    /// `Cuda(n)` without a GPU (or with fewer than `n + 1`) is an error, never a silent fallback.
    pub fn resolve(self) -> Result<tch::Device> {
        match self {
            Device::Cpu => Ok(tch::Device::Cpu),
            Device::Auto => {
                if tch::Cuda::is_available() {
                    Ok(tch::Device::Cuda(0))
                } else {
                    Ok(tch::Device::Cpu)
                }
            }
            Device::Cuda(n) => {
                if !tch::Cuda::is_available() {
                    return Err(Error::CudaUnavailable {
                        requested: n,
                        reason: "no CUDA GPU is available on this machine (or libtorch was built without CUDA)".into(),
                    });
                }
                let count = tch::Cuda::device_count() as usize;
                if n >= count {
                    return Err(Error::CudaUnavailable {
                        requested: n,
                        reason: format!("only {count} CUDA device(s) are present"),
                    });
                }
                Ok(tch::Device::Cuda(n))
            }
        }
    }
}

impl FromStr for Device {
    type Err = Error;

    fn from_str(s: &str) -> Result<Device> {
        let t = s.trim().to_ascii_lowercase();
        match t.as_str() {
            "auto" => Ok(Device::Auto),
            "cpu" => Ok(Device::Cpu),
            "cuda" | "gpu" => Ok(Device::Cuda(0)),
            _ => t
                .strip_prefix("cuda:")
                .and_then(|n| n.parse::<usize>().ok())
                .map(Device::Cuda)
                .ok_or_else(|| Error::InvalidDevice {
                    given: s.to_string(),
                }),
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Auto => write!(f, "auto"),
            Device::Cpu => write!(f, "cpu"),
            Device::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        assert_eq!("auto".parse::<Device>().unwrap(), Device::Auto);
        assert_eq!("CPU".parse::<Device>().unwrap(), Device::Cpu);
        assert_eq!("cuda".parse::<Device>().unwrap(), Device::Cuda(0));
        assert_eq!("cuda:3".parse::<Device>().unwrap(), Device::Cuda(3));
        assert!("tpu".parse::<Device>().is_err());
        assert!("cuda:x".parse::<Device>().is_err());
    }

    #[test]
    fn cuda_without_gpu_is_a_clear_error() {
        if tch::Cuda::is_available() {
            return;
        }
        let err = Device::Cuda(0).resolve().unwrap_err().to_string();
        assert!(err.contains("CUDA device 0 was requested"), "{err}");
        assert!(err.contains("--device cpu"), "{err}");
        assert_eq!(Device::Auto.resolve().unwrap(), tch::Device::Cpu);
    }
}
