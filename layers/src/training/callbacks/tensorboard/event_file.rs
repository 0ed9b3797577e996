//! TensorBoard's event files, written without TensorFlow: TFRecord framing (length, masked
//! CRC-32C of the length, the record, its masked CRC-32C) around `Event` protocol buffers
//! (`tensorflow/core/util/event.proto`, `summary.proto`) encoded by hand: only the fields
//! TensorBoard's scalar and image dashboards read.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// CRC-32C (Castagnoli), bitwise.
fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0x82F6_3B78 & mask);
        }
    }
    !crc
}

/// TFRecord's masked CRC.
fn masked_crc(data: &[u8]) -> u32 {
    let c = crc32c(data);
    (c.rotate_right(15)).wrapping_add(0xa282_ead8)
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn key(field: u32, wire: u8, out: &mut Vec<u8>) {
    varint((u64::from(field) << 3) | u64::from(wire), out);
}

fn bytes_field(field: u32, data: &[u8], out: &mut Vec<u8>) {
    key(field, 2, out);
    varint(data.len() as u64, out);
    out.extend_from_slice(data);
}

/// One value of a summary.
pub enum SummaryValue<'a> {
    /// A scalar (`simple_value`).
    Scalar(f32),
    /// An encoded image (PNG) of `width` x `height`, 3 channels.
    Image {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// The PNG file's bytes.
        png: &'a [u8],
    },
}

/// `Event { wall_time, step, summary { value { tag, simple_value | image } } }`.
fn summary_event(wall_time: f64, step: i64, tag: &str, value: &SummaryValue<'_>) -> Vec<u8> {
    let mut v = Vec::new();
    bytes_field(1, tag.as_bytes(), &mut v);
    match value {
        SummaryValue::Scalar(x) => {
            key(2, 5, &mut v);
            v.extend_from_slice(&x.to_le_bytes());
        }
        SummaryValue::Image { width, height, png } => {
            let mut img = Vec::new();
            key(1, 0, &mut img);
            varint(u64::from(*height), &mut img);
            key(2, 0, &mut img);
            varint(u64::from(*width), &mut img);
            key(3, 0, &mut img);
            varint(3, &mut img);
            bytes_field(4, png, &mut img);
            bytes_field(4, &img, &mut v);
        }
    }
    let mut summary = Vec::new();
    bytes_field(1, &v, &mut summary);
    let mut event = event_header(wall_time, step);
    bytes_field(5, &summary, &mut event);
    event
}

fn event_header(wall_time: f64, step: i64) -> Vec<u8> {
    let mut e = Vec::new();
    key(1, 1, &mut e);
    e.extend_from_slice(&wall_time.to_le_bytes());
    key(2, 0, &mut e);
    varint(step as u64, &mut e);
    e
}

/// An open event file (`events.out.tfevents.<time>.<host>.<pid>`) in a run directory.
pub struct EventWriter {
    file: File,
    path: PathBuf,
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl EventWriter {
    /// Creates a new event file in `dir` (made if needed), starting with the file-version
    /// event TensorBoard expects.
    pub fn create(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::file(dir, e))?;
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "localhost".into());
        let path = dir.join(format!(
            "events.out.tfevents.{}.{host}.{}.v2",
            now() as u64,
            std::process::id()
        ));
        let file = File::create(&path).map_err(|e| Error::file(&path, e))?;
        let mut w = EventWriter { file, path };
        let mut first = event_header(now(), 0);
        bytes_field(3, b"brain.Event:2", &mut first);
        w.record(&first)?;
        Ok(w)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `value` under `tag` at `step`, flushed so TensorBoard sees it at once.
    pub fn write(&mut self, step: i64, tag: &str, value: &SummaryValue<'_>) -> Result<()> {
        self.record(&summary_event(now(), step, tag, value))
    }

    fn record(&mut self, data: &[u8]) -> Result<()> {
        let len = (data.len() as u64).to_le_bytes();
        let mut framed = Vec::with_capacity(data.len() + 16);
        framed.extend_from_slice(&len);
        framed.extend_from_slice(&masked_crc(&len).to_le_bytes());
        framed.extend_from_slice(data);
        framed.extend_from_slice(&masked_crc(data).to_le_bytes());
        self.file
            .write_all(&framed)
            .and_then(|()| self.file.flush())
            .map_err(|e| Error::file(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_standard_check_value() {
        // RFC 3720's check value for "123456789".
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn varints_are_little_endian_base_128() {
        let mut v = Vec::new();
        varint(300, &mut v);
        assert_eq!(v, [0xAC, 0x02]);
    }
}
