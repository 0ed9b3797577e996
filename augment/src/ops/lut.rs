//! Per-channel lookup tables: the fast path of every point-wise intensity transform.

use crate::HwcImage;

/// Maps every byte of channel `c` through `luts[c % luts.len()]`.
pub fn apply_luts(x: &mut HwcImage, luts: &[[u8; 256]]) {
    let c = x.channels();
    if luts.len() == 1 {
        let lut = &luts[0];
        for v in x.data_mut() {
            *v = lut[usize::from(*v)];
        }
        return;
    }
    if c == 3 && luts.len() == 3 {
        let (l0, l1, l2) = (&luts[0], &luts[1], &luts[2]);
        for px in x.data_mut().chunks_exact_mut(3) {
            px[0] = l0[usize::from(px[0])];
            px[1] = l1[usize::from(px[1])];
            px[2] = l2[usize::from(px[2])];
        }
        return;
    }
    for px in x.data_mut().chunks_exact_mut(c) {
        for (i, v) in px.iter_mut().enumerate() {
            *v = luts[i % luts.len()][usize::from(*v)];
        }
    }
}

/// A table of `f(v)` rounded and clipped to 0..=255.
pub fn build_lut(f: impl Fn(f32) -> f32) -> [u8; 256] {
    let mut lut = [0u8; 256];
    for (v, out) in lut.iter_mut().enumerate() {
        *out = (f(v as f32) + 0.5).clamp(0.0, 255.0) as u8;
    }
    lut
}

/// Maps every byte `v` of channel `c` to `round(scale[c] * v + offset[c])` clipped to
/// 0..=255, in 16.16 fixed point (vectorised; the fast path of contrast and multiply).
pub fn apply_linear(x: &mut HwcImage, scale: &[f32], offset: &[f32]) {
    let c = x.channels();
    let n = scale.len().max(1);
    // one period of the channel pattern, repeated to a multiple of 16 lanes
    let period = if n == 1 { 16 } else { 16 * c };
    // clamped so that 255 * s + o fits an i32 (larger factors saturate every value anyway)
    let s: Vec<i32> = (0..period)
        .map(|i| (scale[(i % c) % n].clamp(-120.0, 120.0) * 65536.0).round() as i32)
        .collect();
    let o: Vec<i32> = (0..period)
        .map(|i| (offset[(i % c) % n].clamp(-30_000.0, 30_000.0) * 65536.0).round() as i32 + 32768)
        .collect();
    let data = x.data_mut();
    let mut chunks = data.chunks_exact_mut(period);
    for chunk in &mut chunks {
        for ((v, &s), &o) in chunk.iter_mut().zip(&s).zip(&o) {
            *v = ((i32::from(*v) * s + o) >> 16).clamp(0, 255) as u8;
        }
    }
    for (v, (&s, &o)) in chunks.into_remainder().iter_mut().zip(s.iter().zip(&o)) {
        *v = ((i32::from(*v) * s + o) >> 16).clamp(0, 255) as u8;
    }
}
