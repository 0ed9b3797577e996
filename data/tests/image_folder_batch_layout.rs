//! An image folder's batches hold, sample for sample, the folder's own decoded and augmented
//! images (`load_sample`) as floats times the rescale factor, in the epoch's order, labels
//! alike; stored channels-last while convolutions run so (the model then converts nothing)
//! and plainly contiguous with channels-last off, the values the same.

mod common;

use std::sync::Arc;

use convkit_augment::ImageDataGenerator;
use convkit_data::image_folder::{ImageFolder, ImageFolderOptions, LabelMode};
use convkit_tensor::memory_format::{is_channels_last, set_channels_last, ChannelsLast};
use convkit_tensor::tch::Tensor;
use convkit_tensor::BatchSource;

/// Every batch of epoch 0 as (inputs, targets).
fn epoch_batches(folder: &mut ImageFolder) -> Vec<(Tensor, Tensor)> {
    folder
        .epoch(0)
        .unwrap()
        .map(|b| {
            let b = b.unwrap();
            (b.inputs, b.targets)
        })
        .collect()
}

#[test]
fn batches_are_the_samples_as_scaled_floats_in_either_layout() {
    let dir = tempfile::tempdir().unwrap();
    common::class_folder(dir.path(), &["cat", "dog"], 4);
    let options = ImageFolderOptions::flow_from_directory()
        .target_size(12, 10)
        .batch_size(3)
        .seed(5)
        .label_mode(LabelMode::Binary)
        .augment(Arc::new(ImageDataGenerator::book()));
    let mut folder = ImageFolder::open(dir.path(), options).unwrap();
    let order = folder.order(0);
    assert_eq!(order.len(), 8);

    set_channels_last(ChannelsLast::On);
    let channels_last = epoch_batches(&mut folder);
    set_channels_last(ChannelsLast::Off);
    let contiguous = epoch_batches(&mut folder);
    set_channels_last(ChannelsLast::Auto);

    assert_eq!(channels_last.len(), 3, "8 samples in batches of 3");
    let mut k = 0;
    for ((x, y), (x_nchw, y_nchw)) in channels_last.iter().zip(&contiguous) {
        let n = x.size()[0];
        assert_eq!(x.size(), [n, 3, 12, 10]);
        assert!(is_channels_last(x), "strides {:?}", x.stride());
        assert!(x_nchw.is_contiguous(), "strides {:?}", x_nchw.stride());
        assert_eq!(x, x_nchw);
        assert_eq!(y, y_nchw);
        for s in 0..n {
            let i = order[k];
            let img = folder.load_sample(i, 0).unwrap().unwrap();
            // Keras' rescale: x * (1/255) in float32
            let scale: f32 = 1.0 / 255.0;
            let expected: Vec<f32> = img.data().iter().map(|&v| f32::from(v) * scale).collect();
            let expected = Tensor::from_slice(&expected)
                .view([12, 10, 3])
                .permute([2, 0, 1]);
            assert_eq!(x.get(s), expected, "sample {i} at position {k}");
            let label = folder
                .class_names()
                .iter()
                .position(|c| folder.samples()[i].path.parent().unwrap().ends_with(c));
            assert_eq!(y.get(s).double_value(&[0]), label.unwrap() as f64);
            k += 1;
        }
    }
    assert_eq!(k, 8);
}
