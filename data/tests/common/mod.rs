//! Image files for the loader tests, written with the `image` crate.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;

use image::{ImageBuffer, Luma, Rgb, RgbImage};

/// A textured RGB image whose content depends on `seed`.
pub fn photo(w: u32, h: u32, seed: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let v = |k: u32| {
            ((x * (3 + k + seed % 5) + y * (5 + k) + seed * 37 + (x * y) % (11 + k)) % 256) as u8
        };
        Rgb([v(0), v(1), v(2)])
    })
}

/// Writes `img` as a JPEG (quality 90) to `path`.
pub fn write_jpeg(path: &Path, img: &RgbImage) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90)
        .encode_image(img)
        .unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Writes `img` as a PNG to `path`.
pub fn write_png(path: &Path, img: &RgbImage) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    img.save_with_format(path, image::ImageFormat::Png).unwrap();
}

/// A folder of `per_class` images in each of `classes`, alternating JPEG and PNG, of varying
/// sizes.
pub fn class_folder(root: &Path, classes: &[&str], per_class: u32) {
    for (k, class) in classes.iter().enumerate() {
        for i in 0..per_class {
            let seed = k as u32 * 1000 + i;
            let img = photo(40 + (i % 7) * 9, 30 + (i % 5) * 11, seed);
            if i % 2 == 0 {
                write_jpeg(&root.join(class).join(format!("{class}.{i}.jpg")), &img);
            } else {
                write_png(&root.join(class).join(format!("{class}.{i}.png")), &img);
            }
        }
    }
}

/// A 16-bit RGB PNG.
pub fn write_png16(path: &Path, w: u32, h: u32) {
    let img: ImageBuffer<Rgb<u16>, Vec<u16>> = ImageBuffer::from_fn(w, h, |x, y| {
        Rgb([(x * 2000) as u16, (y * 3000) as u16, 65535])
    });
    img.save_with_format(path, image::ImageFormat::Png).unwrap();
}

/// A gray PNG.
pub fn write_gray_png(path: &Path, w: u32, h: u32) {
    let img: ImageBuffer<Luma<u8>, Vec<u8>> =
        ImageBuffer::from_fn(w, h, |x, y| Luma([((x + y) * 4) as u8]));
    img.save_with_format(path, image::ImageFormat::Png).unwrap();
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

/// A valid gray PNG of `side x side` black pixels: a few hundred kilobytes on disk that would
/// inflate to `side^2` bytes (a decompression bomb for large sides).
pub fn write_png_bomb(path: &Path, side: u32) {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    let row = vec![0u8; side as usize + 1];
    for _ in 0..side {
        z.write_all(&row).unwrap();
    }
    let idat = z.finish().unwrap();
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    png_chunk(&mut png, b"IHDR", &ihdr);
    png_chunk(&mut png, b"IDAT", &idat);
    png_chunk(&mut png, b"IEND", &[]);
    std::fs::write(path, png).unwrap();
}
