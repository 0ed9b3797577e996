//! `convkit predict --model xception --weights FILE.h5` on Keras' HDF5 weight files (as
//! `keras.applications` downloads them; here Xception with random weights written in that
//! layout by `scripts/fixtures/export_keras_h5_models.py`, whose outputs
//! `layers/tests/keras_h5_import.rs` checks against Keras): the ImageNet classifier by name,
//! the base's features with `--include-top false --pooling`, and a clear hint when a file
//! without the top meets a model with it; `convkit fetch` against local servers (a wrong
//! digest, a 404, no server: clear errors, nothing left behind), and a file placed where
//! fetch puts it used as the default weights; ResNet50 from Keras' file as a `train` base.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{run_limited, skimage_photos};

const LIMIT: Duration = Duration::from_secs(300);

fn exported() -> PathBuf {
    common::export_fixtures("export_keras_h5_models.py", "keras-h5-models", "xception")
}

/// The `output` and `top` of the one image of a `predict --json` file.
fn record(json: &Path) -> (Vec<f64>, Vec<serde_json::Value>) {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap();
    let r = &v.as_array().unwrap()[0];
    let output = r["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    (output, r["top"].as_array().unwrap().clone())
}

#[test]
fn predict_reads_keras_hdf5_weights_with_and_without_top() {
    let dir = exported();
    let photo = skimage_photos().join("chelsea.png");
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("out.json");
    let top = dir.join("xception_top.h5");
    let notop = dir.join("xception_notop.h5");
    let predict = |extra: &[&str]| {
        let mut args = vec!["predict", "--model", "xception", "--top", "3"];
        args.extend_from_slice(extra);
        args.extend(["--json", json.to_str().unwrap(), photo.to_str().unwrap()]);
        run_limited(&args, &[("CONVKIT_THREADS", "1")], LIMIT)
    };

    let (code, text) = predict(&["--weights", top.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{text}");
    let (output, classes) = record(&json);
    assert_eq!(output.len(), 1000);
    let sum: f64 = output.iter().sum();
    assert!(
        (sum - 1.0).abs() < 1e-4,
        "softmax probabilities sum to {sum}"
    );
    assert_eq!(classes.len(), 3);
    let best = classes[0]["index"].as_u64().unwrap() as usize;
    let max = output.iter().cloned().fold(f64::MIN, f64::max);
    assert_eq!(
        output[best], max,
        "the first top class is the largest output"
    );
    assert!(classes[0]["class"].as_str().unwrap().len() > 2);

    // A file without the classifier: the hint names the flag; with it, 2048 features.
    let (code, text) = predict(&["--weights", notop.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("add --include-top false"), "{text}");
    let mut features = std::collections::HashMap::new();
    for (pooling, len) in [("avg", 2048), ("max", 2048), ("none", 2048 * 10 * 10)] {
        let (code, text) = predict(&[
            "--weights",
            notop.to_str().unwrap(),
            "--include-top",
            "false",
            "--pooling",
            pooling,
        ]);
        assert_eq!(code, Some(0), "{text}");
        let (output, classes) = record(&json);
        assert_eq!(output.len(), len, "--pooling {pooling}");
        assert!(
            classes[0]["class"]
                .as_str()
                .unwrap()
                .starts_with("feature "),
            "{classes:?}"
        );
        features.insert(pooling, output);
    }
    // Max pooling is at least average pooling, feature by feature.
    let (avg, max) = (&features["avg"], &features["max"]);
    assert!(avg.iter().zip(max).all(|(a, m)| m + 1e-6 >= *a));
}

/// Answers every request with `status` and `body`, until the test ends.
fn serve(status: &'static str, body: &'static [u8]) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(body);
        }
    });
    format!("http://{addr}")
}

#[test]
fn fetch_refuses_bad_downloads_and_fetched_files_are_the_default_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let target = data.join("weights/xception_weights_tf_dim_ordering_tf_kernels.h5");
    let fetch = |base_url: &str| {
        run_limited(
            &[
                "fetch",
                "xception",
                "--base-url",
                base_url,
                "--timeout",
                "5",
                "--data-dir",
                data.to_str().unwrap(),
            ],
            &[],
            LIMIT,
        )
    };
    let weights_dir = |what: &str| {
        let names: Vec<String> = std::fs::read_dir(data.join("weights"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            names.is_empty(),
            "{what}: nothing may be left behind: {names:?}"
        );
    };
    // Served bytes with another digest: refused, nothing kept.
    let (code, text) = fetch(&serve("200 OK", b"not Keras' weights"));
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("0a58e3b7378bc2990ea3b43d5981f1f6") && text.contains("MD5"),
        "{text}"
    );
    weights_dir("wrong digest");
    // A 404, and no server at all: the URL that failed and how to place the file by hand.
    let (code, text) = fetch(&serve("404 Not Found", b""));
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("404") && text.contains("xception/xception_weights"),
        "{text}"
    );
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let (code, text) = fetch(&closed);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(&format!("{closed}/xception/")) && text.contains("place it at"),
        "{text}"
    );
    assert!(text.contains(target.to_str().unwrap()), "{text}");
    weights_dir("no server");
    // Unknown names list the known ones.
    let (code, text) = run_limited(&["fetch", "resnet18"], &[], LIMIT);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("xception-notop") && text.contains("resnet50"),
        "{text}"
    );

    // A file where fetch puts it is what `--model xception` uses without --weights.
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::copy(exported().join("xception_top.h5"), &target).unwrap();
    let photo = skimage_photos().join("chelsea.png");
    let predict_default = || {
        run_limited(
            &[
                "predict",
                "--model",
                "xception",
                "--data-dir",
                data.to_str().unwrap(),
                photo.to_str().unwrap(),
            ],
            &[("CONVKIT_THREADS", "1")],
            LIMIT,
        )
    };
    let (code, text) = predict_default();
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("Using Keras' ImageNet weights fetched into")
            && text.contains("xception_weights_tf_dim_ordering_tf_kernels.h5"),
        "{text}"
    );
    // Without the file the error says how to get it.
    std::fs::remove_file(&target).unwrap();
    let (code, text) = predict_default();
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("convkit fetch xception"), "{text}");
}

#[test]
fn resnet50_from_keras_weights_is_a_train_base() {
    let fixtures =
        common::export_fixtures("export_keras_h5_models.py", "keras-h5-models", "resnet50");
    let tmp = tempfile::tempdir().unwrap();
    let data = common::class_folders::cats_and_dogs(&tmp.path().join("data"), 40);
    let run = tmp.path().join("run");
    let weights = fixtures.join("resnet50_notop.h5");
    let (code, text) = run_limited(
        &[
            "train",
            data.to_str().unwrap(),
            "--model",
            "resnet50",
            "--weights",
            weights.to_str().unwrap(),
            "--size",
            "64",
            "--epochs",
            "1",
            "--batch-size",
            "8",
            "--loader-threads",
            "1",
            "--out",
            run.to_str().unwrap(),
        ],
        &[("CONVKIT_THREADS", "1")],
        LIMIT,
    );
    assert_eq!(code, Some(0), "{text}");
    // Keras' ResNet50 without its top: 23,587,712 parameters, all frozen under the head.
    assert!(
        text.contains("Non-trainable params: 23,587,712"),
        "the frozen ResNet50 base: {text}"
    );
    let info = convkit::classifier_info::ClassifierInfo::load(&run.join("model"))
        .unwrap()
        .unwrap();
    assert_eq!(
        info.preprocessing,
        convkit::classifier_info::Preprocessing::Mode {
            mode: convkit::preprocess_mode::PreprocessMode::Caffe
        },
        "Keras' ResNet50 weights expect caffe-style input"
    );
    let picture = data.join("dog/0.png");
    let (code, text) = run_limited(
        &[
            "predict",
            "--model",
            run.to_str().unwrap(),
            picture.to_str().unwrap(),
        ],
        &[("CONVKIT_THREADS", "1")],
        LIMIT,
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("dog (1)") && text.contains("cat (0)"),
        "{text}"
    );
}
