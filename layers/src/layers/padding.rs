//! `valid` and `same` padding, with TensorFlow's rule for `same` (the extra pixel goes to the
//! bottom/right), which Keras keeps on every backend.

use serde::{Deserialize, Serialize};

/// Padding mode of convolutions and pooling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Padding {
    /// No padding: output `floor((n - k_eff) / s) + 1`.
    #[default]
    Valid,
    /// Output `ceil(n / s)`, zero (or -inf) padding split TF-style.
    Same,
}

impl std::fmt::Display for Padding {
    /// Keras' name: `valid` or `same`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Padding::Valid => "valid",
            Padding::Same => "same",
        })
    }
}

/// Output size along one axis. `k_eff` is the effective kernel size (`(k - 1) * d + 1`).
pub fn output_size(n: i64, k_eff: i64, stride: i64, padding: Padding) -> i64 {
    match padding {
        Padding::Valid => {
            if n < k_eff {
                0
            } else {
                (n - k_eff) / stride + 1
            }
        }
        Padding::Same => (n + stride - 1) / stride,
    }
}

/// `(before, after)` padding along one axis for `same`: total
/// `max((ceil(n / s) - 1) * s + k_eff - n, 0)`, `before = total / 2`.
pub fn same_padding(n: i64, k_eff: i64, stride: i64) -> (i64, i64) {
    let out = (n + stride - 1) / stride;
    let total = ((out - 1) * stride + k_eff - n).max(0);
    (total / 2, total - total / 2)
}

/// Padding of an NCHW input: `[(top, bottom), (left, right)]`, zeros for `valid`.
pub fn spatial_padding(
    hw: [i64; 2],
    k_eff: [i64; 2],
    strides: [i64; 2],
    padding: Padding,
) -> [(i64, i64); 2] {
    match padding {
        Padding::Valid => [(0, 0), (0, 0)],
        Padding::Same => [
            same_padding(hw[0], k_eff[0], strides[0]),
            same_padding(hw[1], k_eff[1], strides[1]),
        ],
    }
}

/// Whether both axes are padded equally on both sides (libtorch can then pad by itself).
pub fn is_symmetric(p: &[(i64, i64); 2]) -> bool {
    p[0].0 == p[0].1 && p[1].0 == p[1].1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tf_same_rule() {
        // n=7, k=3, s=2: out 4, total (3*2+3-7)=2 -> (1,1)
        assert_eq!(same_padding(7, 3, 2), (1, 1));
        // n=8, k=3, s=2: out 4, total (6+3-8)=1 -> (0,1): the extra pixel goes after.
        assert_eq!(same_padding(8, 3, 2), (0, 1));
        assert_eq!(same_padding(28, 3, 1), (1, 1));
        assert_eq!(same_padding(5, 4, 1), (1, 2));
        assert_eq!(output_size(26, 2, 2, Padding::Valid), 13);
        assert_eq!(output_size(7, 3, 2, Padding::Same), 4);
    }
}
