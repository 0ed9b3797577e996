//! The end of a backed-up training is crash-safe: the final model is saved, as one unit,
//! before `BackupAndRestore` deletes its backup; a failed final save keeps the backup, so the
//! rerun resumes instead of training from epoch 1; temporaries of a killed run are removed;
//! and a backup made with other settings is refused with what differs.

mod common;

use std::path::Path;

use common::{bright_top_dataset, cce, small_convnet};
use convkit_layers::prelude::*;
use convkit_layers::saving::{ARCHITECTURE_FILE, WEIGHTS_FILE};

fn model(optimizer: &str) -> Sequential {
    let mut m = small_convnet();
    let opt = convkit_optim::from_name(optimizer, None).unwrap();
    m.compile(opt, cce(), &[Metric::Accuracy]).unwrap();
    m
}

fn options(out: &Path, epochs: usize, batch: usize) -> FitOptions {
    FitOptions::new()
        .epochs(epochs)
        .batch_size(batch)
        .verbose(Verbosity::Silent)
        .callback(BackupAndRestore::new(out.join("backup")).setting("batch_size", batch))
        .save_model_to(out.join(RUN_MODEL_DIR))
}

fn assert_same_weights(a: &dyn Model, b: &dyn Model) {
    let (wa, wb) = (a.get_weights().unwrap(), b.get_weights().unwrap());
    assert_eq!(wa.len(), wb.len());
    for ((n, x), (_, y)) in wa.iter().zip(wb.iter()) {
        assert!(x.equal(y), "{n}");
    }
}

#[test]
fn a_failed_final_save_keeps_the_backup_and_the_rerun_resumes_from_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let (x, y) = bright_top_dataset(64);
    // A temporary that a killed run (PID 2^22 + 1, above Linux's pid_max) left behind.
    std::fs::create_dir_all(&out).unwrap();
    let stale = out.join(format!(".model.safetensors.tmp-{}", (1u32 << 22) + 1));
    std::fs::write(&stale, b"half a file").unwrap();
    // The final save's working directory is taken by a file, so that save fails after the
    // last epoch, as a kill or a full disk would make it.
    let blocker = convkit_tensor::atomic::temp_sibling(&out.join(RUN_MODEL_DIR));
    std::fs::write(&blocker, b"").unwrap();

    let mut m = model("rmsprop");
    let e = m.fit(&x, &y, options(&out, 2, 16)).unwrap_err().to_string();
    assert!(e.contains("cannot save the model"), "{e}");
    assert!(!stale.exists(), "the killed run's temporary is removed");
    assert!(!out.join(RUN_MODEL_DIR).exists(), "no half model directory");
    assert_eq!(
        std::fs::read_to_string(out.join("backup/latest")).unwrap(),
        "epoch-1",
        "the backup of the last epoch is kept until the model is saved"
    );

    std::fs::remove_file(&blocker).unwrap();
    let mut again = model("rmsprop");
    let restore = BackupAndRestore::new(out.join("backup")).setting("batch_size", 16);
    let h = again
        .fit(
            &x,
            &y,
            FitOptions::new()
                .epochs(2)
                .batch_size(16)
                .verbose(Verbosity::Silent)
                .callback(restore)
                .save_model_to(out.join(RUN_MODEL_DIR)),
        )
        .unwrap();
    // Resumed after the last epoch: nothing trained again, the history is the backup's.
    assert_eq!(h.epoch, vec![0, 1]);
    let dir = out.join(RUN_MODEL_DIR);
    assert!(dir.join(ARCHITECTURE_FILE).is_file() && dir.join(WEIGHTS_FILE).is_file());
    assert!(
        !out.join("backup").exists(),
        "the backup goes once the model is complete"
    );
    let loaded = load_model(&out, convkit_tensor::tch::Device::Cpu).unwrap();
    assert_same_weights(&again, loaded.as_ref());
}

#[test]
fn a_backup_made_with_other_settings_says_what_differs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let (x, y) = bright_top_dataset(64);
    let keep = |batch: usize| {
        BackupAndRestore::new(out.join("backup"))
            .keep_on_success(true)
            .setting("batch_size", batch)
    };
    let quiet = || FitOptions::new().epochs(1).verbose(Verbosity::Silent);
    model("rmsprop")
        .fit(&x, &y, quiet().batch_size(16).callback(keep(16)))
        .unwrap();

    let e = model("rmsprop")
        .fit(&x, &y, quiet().epochs(2).batch_size(32).callback(keep(32)))
        .unwrap_err()
        .to_string();
    assert!(e.contains("batch_size 16 (this run: 32)"), "{e}");
    assert!(e.contains("steps_per_epoch 4 (this run: 2)"), "{e}");
    assert!(e.contains("delete") && e.contains("backup"), "{e}");

    let e = model("adam")
        .fit(&x, &y, quiet().epochs(2).batch_size(16).callback(keep(16)))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(r#"optimizer "rmsprop" (this run: "adam")"#),
        "{e}"
    );

    // The same settings resume.
    let h = model("rmsprop")
        .fit(&x, &y, quiet().epochs(2).batch_size(16).callback(keep(16)))
        .unwrap();
    assert_eq!(h.epoch, vec![0, 1]);
}

#[test]
fn a_model_directory_is_replaced_whole_and_never_emptied_of_other_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("m");
    let first = model("rmsprop");
    save_model(&first, &dir).unwrap();
    let second = model("adam");
    save_model(&second, &dir).unwrap();
    let names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        vec!["m".to_string()],
        "no temporary is left beside it"
    );
    let loaded = load_model(&dir, convkit_tensor::tch::Device::Cpu).unwrap();
    let json = std::fs::read_to_string(dir.join(ARCHITECTURE_FILE)).unwrap();
    assert!(json.contains("\"adam\""), "{json}");
    assert_same_weights(&second, loaded.as_ref());

    std::fs::write(dir.join("notes.txt"), b"mine").unwrap();
    let e = save_model(&first, &dir).unwrap_err().to_string();
    assert!(
        e.contains("notes.txt") && e.contains("folder of its own"),
        "{e}"
    );
    assert_eq!(std::fs::read(dir.join("notes.txt")).unwrap(), b"mine");
}

/// A source that yields no batch (an empty folder, a split that kept nothing).
struct Empty;
impl convkit_tensor::BatchSource for Empty {
    fn num_samples(&self) -> usize {
        0
    }
    fn batches_per_epoch(&self) -> usize {
        0
    }
    fn epoch(
        &mut self,
        _epoch: usize,
    ) -> convkit_tensor::Result<
        Box<dyn Iterator<Item = convkit_tensor::Result<convkit_tensor::Batch>> + '_>,
    > {
        Ok(Box::new(std::iter::empty()))
    }
}

#[test]
fn no_metric_is_reported_over_zero_samples() {
    // `--test-limit 0` once printed "test accuracy: 1.0000", `segment --held-out 0` "NaN".
    let m = model("rmsprop");
    let e = m.evaluate_source(&mut Empty).unwrap_err().to_string();
    assert!(e.contains("holds no sample"), "{e}");
    let (x, y) = bright_top_dataset(32);
    let e = model("rmsprop")
        .fit(
            &x,
            &y,
            FitOptions::new()
                .epochs(1)
                .verbose(Verbosity::Silent)
                .validation_source(Empty),
        )
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("holds no sample"),
        "validation over nothing: {e}"
    );
}
