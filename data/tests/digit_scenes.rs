//! Digit scenes and Oxford-layout segmentation pairs.

use convkit_data::digit_scenes::{
    compose, compose_styled, Backgrounds, SceneStyle, TRIMAP_BACKGROUND, TRIMAP_BORDER,
    TRIMAP_OBJECT,
};
use convkit_data::segmentation::{find_pairs, holdout_split, load_pairs};

fn backgrounds(dir: &std::path::Path) -> Backgrounds {
    for k in 0..2u32 {
        image::RgbImage::from_fn(120, 100, |x, y| {
            image::Rgb([(x + k * 60) as u8, y as u8, 90])
        })
        .save(dir.join(format!("b{k}.png")))
        .unwrap();
    }
    // Too small to crop from: ignored.
    image::RgbImage::new(20, 20)
        .save(dir.join("tiny.png"))
        .unwrap();
    Backgrounds::load(dir).unwrap()
}

fn digit() -> image::GrayImage {
    image::GrayImage::from_fn(28, 28, |x, y| {
        image::Luma([if (10..18).contains(&x) && (4..24).contains(&y) {
            255
        } else {
            0
        }])
    })
}

#[test]
fn scenes_are_deterministic_with_all_three_trimap_classes() {
    let dir = tempfile::tempdir().unwrap();
    let bg = backgrounds(dir.path());
    assert_eq!(bg.len(), 2);
    let a = compose(&digit(), &bg, 64, 5);
    let b = compose(&digit(), &bg, 64, 5);
    assert_eq!(a.image, b.image);
    assert_eq!(a.trimap, b.trimap);
    let c = compose(&digit(), &bg, 64, 6);
    assert_ne!(a.image, c.image, "another seed gives another scene");
    let count = |v: u8| a.trimap.pixels().filter(|p| p.0[0] == v).count();
    let (obj, bgc, border) = (
        count(TRIMAP_OBJECT),
        count(TRIMAP_BACKGROUND),
        count(TRIMAP_BORDER),
    );
    assert_eq!(obj + bgc + border, 64 * 64);
    assert!(
        obj > 50 && border > 20 && bgc > 1000,
        "{obj} {bgc} {border}"
    );
}

#[test]
fn segmentation_scenes_draw_bold_digits() {
    // A 2-pixel stroke: thin in the classification style, a region once thickened.
    let stroke = image::GrayImage::from_fn(28, 28, |x, y| {
        image::Luma([if (13..15).contains(&x) && (4..24).contains(&y) {
            255
        } else {
            0
        }])
    });
    let dir = tempfile::tempdir().unwrap();
    let bg = backgrounds(dir.path());
    let objects = |style: &SceneStyle| -> usize {
        (0..8u64)
            .map(|seed| {
                let s = compose_styled(&stroke, &bg, 64, seed, style);
                s.trimap
                    .pixels()
                    .filter(|p| p.0[0] == TRIMAP_OBJECT)
                    .count()
            })
            .sum()
    };
    let (thin, bold) = (
        objects(&SceneStyle::CLASSIFICATION),
        objects(&SceneStyle::SEGMENTATION),
    );
    assert!(bold > 3 * thin.max(1), "thin {thin}, bold {bold}");
    // The default composition is the classification style.
    assert_eq!(
        compose(&stroke, &bg, 64, 3).trimap,
        compose_styled(&stroke, &bg, 64, 3, &SceneStyle::CLASSIFICATION).trimap
    );
}

#[test]
fn missing_backgrounds_are_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let e = Backgrounds::load(dir.path()).unwrap_err().to_string();
    assert!(
        e.contains("background images") && e.contains("96x96"),
        "{e}"
    );
}

#[test]
fn oxford_pairs_load_as_classes_zero_to_two() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("images")).unwrap();
    std::fs::create_dir_all(root.join("annotations/trimaps")).unwrap();
    for (i, v) in [1u8, 2, 3].iter().enumerate() {
        image::RgbImage::from_pixel(20, 10, image::Rgb([10 * i as u8, 0, 0]))
            .save(root.join(format!("images/pet_{i}.jpg")))
            .unwrap();
        image::GrayImage::from_pixel(20, 10, image::Luma([*v]))
            .save(root.join(format!("annotations/trimaps/pet_{i}.png")))
            .unwrap();
    }
    // An image without trimap and a hidden file are skipped.
    image::RgbImage::new(8, 8)
        .save(root.join("images/orphan.jpg"))
        .unwrap();
    image::RgbImage::new(8, 8)
        .save(root.join("images/._pet_0.jpg"))
        .unwrap();
    let pairs = find_pairs(root).unwrap();
    assert_eq!(pairs.len(), 3);
    let (x, y) = load_pairs(&pairs, 16).unwrap();
    assert_eq!(x.size(), [3, 3, 16, 16]);
    assert_eq!(y.size(), [3, 16, 16]);
    for i in 0..3 {
        let v: Vec<i64> = Vec::<i64>::try_from(&y.get(i).flatten(0, -1)).unwrap();
        assert!(v.iter().all(|&c| c == i), "pair {i}: classes {:?}", &v[..4]);
    }
    let (train, held) = holdout_split(10, 3, 1).unwrap();
    assert_eq!((train.len(), held.len()), (7, 3));
    let mut all: Vec<usize> = train.iter().chain(&held).copied().collect();
    all.sort();
    assert_eq!(all, (0..10).collect::<Vec<_>>());

    image::GrayImage::from_pixel(20, 10, image::Luma([0]))
        .save(root.join("annotations/trimaps/pet_1.png"))
        .unwrap();
    let e = load_pairs(&pairs, 16).unwrap_err().to_string();
    assert!(
        e.contains("pet_1.png") && e.contains("trimap value 0"),
        "{e}"
    );
}
