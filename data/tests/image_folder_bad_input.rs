//! Bad files in an image folder are loaded correctly or skipped with one warning naming the
//! file; with `BadFilePolicy::Error` the epoch fails naming the file. Never a panic, never a
//! lost good sample.

mod common;

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use convkit_data::image_folder::{BadFilePolicy, ImageFolder, ImageFolderOptions, LabelMode};
use convkit_tensor::BatchSource;
use tracing_subscriber::layer::SubscriberExt;

/// Records the messages of WARN events.
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Warnings {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if *event.metadata().level() == tracing::Level::WARN {
            let mut text = String::new();
            event.record(&mut |f: &tracing::field::Field, v: &dyn std::fmt::Debug| {
                text.push_str(&format!("{}={:?} ", f.name(), v));
            });
            self.0.lock().unwrap().push(text);
        }
    }
}

/// The process-wide recorder (worker threads log too, so a thread-local one would miss them).
fn global_warnings() -> Warnings {
    static GLOBAL: std::sync::OnceLock<Warnings> = std::sync::OnceLock::new();
    GLOBAL
        .get_or_init(|| {
            let w = Warnings::default();
            tracing::subscriber::set_global_default(tracing_subscriber::registry().with(w.clone()))
                .unwrap();
            w
        })
        .clone()
}

struct Tree {
    _dir: tempfile::TempDir,
    root: PathBuf,
    bad: Vec<&'static str>,
}

fn non_utf8_name() -> &'static std::ffi::OsStr {
    std::ffi::OsStr::from_bytes(b"caf\xe9.png")
}

fn build() -> Tree {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let a = root.join("a");
    let good = common::photo(60, 50, 1);
    common::write_jpeg(&a.join("good.jpg"), &good);
    // corrupt: a JPEG header followed by garbage
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90)
        .encode_image(&good)
        .unwrap();
    let mut corrupt = bytes[..40].to_vec();
    corrupt.extend((0..4000u32).map(|i| (i * 7919 % 251) as u8));
    std::fs::write(a.join("corrupt.jpg"), corrupt).unwrap();
    std::fs::write(a.join("truncated.jpg"), &bytes[..bytes.len() / 3]).unwrap();
    std::fs::write(a.join("zero.jpg"), b"").unwrap();
    std::fs::write(a.join("notes.png"), b"this is not an image, just text\n").unwrap();
    common::write_png16(&a.join("deep16.png"), 30, 20);
    std::fs::copy("tests/fixtures/cmyk.jpg", a.join("cmyk.jpg")).unwrap();
    common::write_gray_png(&a.join("gray.png"), 25, 25);
    common::write_png_bomb(&a.join("bomb.png"), 20_000);
    common::write_png(&a.join(non_utf8_name()), &common::photo(20, 20, 3));
    common::write_png(&root.join("b").join("b.png"), &common::photo(33, 44, 4));
    std::fs::create_dir_all(root.join("c_empty")).unwrap();
    Tree {
        _dir: dir,
        root,
        bad: vec![
            "corrupt.jpg",
            "truncated.jpg",
            "zero.jpg",
            "notes.png",
            "bomb.png",
        ],
    }
}

fn options() -> ImageFolderOptions {
    ImageFolderOptions::flow_from_directory()
        .target_size(16, 16)
        .batch_size(4)
        .label_mode(LabelMode::Sparse)
        .threads(2)
        .seed(5)
}

fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn bad_files_are_skipped_with_one_warning_each() {
    let tree = build();
    let warnings = global_warnings();

    let mut folder = ImageFolder::open(&tree.root, options()).unwrap();
    assert_eq!(folder.class_names(), ["a", "b", "c_empty"]);
    assert_eq!(
        folder.description(),
        "Found 11 images belonging to 3 classes."
    );
    for epoch in 0..2 {
        let mut seen = 0;
        let mut labels = vec![];
        for b in folder.epoch(epoch).unwrap() {
            let b = b.unwrap();
            assert_eq!(b.inputs.size()[1..], [3, 16, 16]);
            seen += b.len();
            labels.extend(Vec::<i64>::try_from(&b.targets).unwrap());
        }
        // 6 good files: good.jpg, deep16.png, cmyk.jpg, gray.png, café.png, b.png
        assert_eq!(seen, 6, "epoch {epoch}");
        labels.sort();
        assert_eq!(labels, vec![0, 0, 0, 0, 0, 1]);
    }
    // warnings come from the loader's worker threads: keep those about this tree only
    let root = tree.root.display().to_string();
    let warnings: Vec<String> = warnings
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|w| w.contains(&root))
        .cloned()
        .collect();
    for bad in &tree.bad {
        let n = warnings.iter().filter(|w| w.contains(bad)).count();
        assert_eq!(n, 1, "{bad}: {n} warnings in {warnings:#?}");
    }
    assert!(
        warnings.iter().any(|w| w.contains("c_empty")),
        "empty class is reported"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("bomb.png") && w.contains("decompression bomb")),
        "{warnings:#?}"
    );
}

#[test]
fn odd_but_valid_images_load_correctly() {
    let tree = build();
    let folder = ImageFolder::open(&tree.root, options().shuffle(false)).unwrap();
    let load = |name: &str| {
        let i = folder
            .samples()
            .iter()
            .position(|s| file_name(&s.path) == name)
            .unwrap_or_else(|| panic!("{name} listed"));
        folder
            .load_sample(i, 0)
            .unwrap()
            .unwrap_or_else(|| panic!("{name} loads"))
    };
    // CMYK: red on the left, blue on the right once converted to RGB (as PIL shows it)
    let cmyk = load("cmyk.jpg");
    let left = cmyk.pixel(8, 0);
    let right = cmyk.pixel(8, 15);
    assert!(left[0] > 200 && left[2] < 60, "left {left:?}");
    assert!(right[2] > 200 && right[0] < 60, "right {right:?}");
    // 16-bit PNG: full-scale blue channel stays 255 after conversion to 8 bits
    assert!(load("deep16.png").data().chunks(3).all(|p| p[2] == 255));
    // gray image in an RGB dataset: three equal channels
    assert!(load("gray.png")
        .data()
        .chunks(3)
        .all(|p| p[0] == p[1] && p[1] == p[2]));
    // a non-UTF-8 file name is listed and loads
    let odd = folder
        .samples()
        .iter()
        .find(|s| s.path.file_name() == Some(non_utf8_name()));
    assert!(odd.is_some());
    load(&file_name(&odd.unwrap().path));
}

#[test]
fn error_policy_names_the_file() {
    let tree = build();
    let mut folder = ImageFolder::open(
        &tree.root,
        options().bad_files(BadFilePolicy::Error).shuffle(false),
    )
    .unwrap();
    let err = folder
        .epoch(0)
        .unwrap()
        .find_map(|b| b.err())
        .expect("an error for the first bad file");
    // The typed data error crosses `BatchSource` whole: its cause is reachable.
    let typed = err
        .downcast_ref::<convkit_data::Error>()
        .unwrap_or_else(|| panic!("the data error was flattened: {err:?}"));
    let text = err.to_string();
    assert_eq!(typed.to_string(), text);
    assert!(tree.bad.iter().any(|b| text.contains(b)), "{text}");
}
