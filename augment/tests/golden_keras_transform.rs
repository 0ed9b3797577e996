//! `ImageDataGenerator.apply_transform` against Keras 3.15.1.
//!
//! Fixtures: `scripts/fixtures/make_augment_golden.py` (KERAS_BACKEND=torch). For each case
//! it ran
//! ```python
//! from keras.src.legacy.preprocessing.image import ImageDataGenerator
//! gen = ImageDataGenerator(fill_mode=FM, cval=CV)
//! out = gen.apply_transform(image.astype("float32"), params)   # image: (37, 45, 3)
//! ```
//! and stored `out` under the case name, with `{"params", "fill_mode", "cval", "input"}` as
//! JSON metadata. Keras resamples float images with scipy and keeps floats; convkit works on
//! u8, so the bar is a mean absolute difference under one grey level away from the borders.

use std::collections::HashMap;

use convkit_augment::{FillMode, HwcImage, ImageDataGenerator, TransformParams};
use safetensors::SafeTensors;

const FIXTURE: &str = "tests/fixtures/keras_image_transform.safetensors";

struct Fixture {
    bytes: Vec<u8>,
}

impl Fixture {
    fn load() -> Self {
        Fixture {
            bytes: std::fs::read(FIXTURE).expect("fixture present"),
        }
    }
    fn metadata(&self) -> HashMap<String, String> {
        let (_, meta) = SafeTensors::read_metadata(&self.bytes).unwrap();
        meta.metadata().clone().unwrap()
    }
    /// (shape, values) of a float32 tensor.
    fn tensor(&self, name: &str) -> (Vec<usize>, Vec<f32>) {
        let st = SafeTensors::deserialize(&self.bytes).unwrap();
        let t = st.tensor(name).unwrap();
        let v = t
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        (t.shape().to_vec(), v)
    }
    fn image(&self, name: &str) -> HwcImage {
        let (s, v) = self.tensor(name);
        let data = v
            .iter()
            .map(|&x| x.round().clamp(0.0, 255.0) as u8)
            .collect();
        HwcImage::new(s[0], s[1], s[2], data).unwrap()
    }
}

#[derive(serde::Deserialize)]
struct Case {
    params: TransformParams,
    fill_mode: String,
    cval: f32,
    input: String,
}

/// Mean absolute difference over pixels at least `margin` away from every border.
fn interior_mad(ours: &HwcImage, theirs: &[f32], margin: usize) -> f64 {
    let (h, w, c) = (ours.height(), ours.width(), ours.channels());
    let (mut sum, mut n) = (0.0, 0usize);
    for r in margin..h - margin {
        for col in margin..w - margin {
            for ch in 0..c {
                let i = (r * w + col) * c + ch;
                sum += (f64::from(ours.data()[i]) - f64::from(theirs[i])).abs();
                n += 1;
            }
        }
    }
    sum / n as f64
}

#[test]
fn apply_transform_matches_keras_on_every_case() {
    let fx = Fixture::load();
    let meta = fx.metadata();
    let cases: Vec<String> = serde_json::from_str(&meta["cases"]).unwrap();
    assert!(cases.len() >= 14, "fixture lists {} cases", cases.len());
    let mut report = Vec::new();
    for name in &cases {
        let case: Case = serde_json::from_str(&meta[name]).unwrap();
        let fill = FillMode::from_keras(&case.fill_mode, case.cval).unwrap();
        let gen = ImageDataGenerator::default().fill_mode(fill);
        let input = fx.image(&case.input);
        let ours = gen.apply_transform(input.clone(), &case.params);
        let (shape, theirs) = fx.tensor(name);
        assert_eq!(
            shape,
            vec![ours.height(), ours.width(), ours.channels()],
            "{name}"
        );
        let mad = interior_mad(&ours, &theirs, 2);
        let whole = interior_mad(&ours, &theirs, 0);
        report.push(format!("{name}: interior MAD {mad:.3}, whole {whole:.3}"));
        assert!(
            mad < 1.0,
            "{name}: interior MAD {mad:.3} >= 1 grey level\n{report:#?}"
        );
        // a transform that does nothing would be far from Keras' output
        if case.params != TransformParams::default() {
            let unchanged = interior_mad(&input, &theirs, 2);
            assert!(
                unchanged > 2.0 * mad.max(0.5),
                "{name}: the case does not test anything"
            );
        }
    }
    eprintln!("{}", report.join("\n"));
}
