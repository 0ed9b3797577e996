//! A run interrupted mid-epoch and restarted with the same backup directory ends with exactly
//! the weights of an uninterrupted run (same seed, CPU). One test per binary: libtorch's
//! generator is process-global.

mod common;

use common::{bright_top_dataset, cce, small_convnet};
use convkit_layers::prelude::*;
use convkit_layers::training::TrainingState;
use convkit_tensor::seed;

/// Fails at `(epoch, batch)`, as a kill would interrupt the run there.
struct Crash(usize, usize);
impl Callback for Crash {
    fn wants_batch_logs(&self) -> bool {
        true
    }
    fn on_train_batch_end(
        &mut self,
        batch: usize,
        _l: &Logs,
        _m: &mut dyn Model,
        s: &mut TrainingState,
    ) -> convkit_layers::Result<()> {
        if s.epoch == self.0 && batch == self.1 {
            return Err(convkit_layers::Error::Model {
                model: "test".into(),
                problem: "simulated kill".into(),
            });
        }
        Ok(())
    }
}

fn run(
    backup: &std::path::Path,
    crash: Option<Crash>,
    seed_value: u64,
) -> (
    convkit_layers::Result<History>,
    Vec<(String, convkit_tensor::Tensor)>,
) {
    seed::set_seed(seed_value);
    let (x, y) = bright_top_dataset(256);
    let mut m = small_convnet();
    m.compile(
        RMSprop::new().learning_rate(0.005),
        cce(),
        &[Metric::Accuracy],
    )
    .unwrap();
    let mut opts = FitOptions::new()
        .epochs(4)
        .batch_size(16)
        .verbose(Verbosity::Silent)
        .callback(BackupAndRestore::new(backup));
    if let Some(c) = crash {
        opts = opts.callback(c);
    }
    let h = m.fit(&x, &y, opts);
    (h, m.get_weights().unwrap())
}

#[test]
fn resumed_run_ends_with_the_weights_of_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let (h_full, w_full) = run(&dir.path().join("a"), None, 7);
    let h_full = h_full.unwrap();
    assert!(
        !dir.path().join("a").exists(),
        "backup is deleted after a successful run"
    );

    let b = dir.path().join("b");
    let (crashed, _) = run(&b, Some(Crash(2, 5)), 7);
    assert!(crashed.unwrap_err().to_string().contains("simulated kill"));
    assert_eq!(
        std::fs::read_to_string(b.join("latest")).unwrap(),
        "epoch-1"
    );

    let (h_resumed, w_resumed) = run(&b, None, 7);
    let h_resumed = h_resumed.unwrap();
    assert_eq!(h_resumed.epoch, vec![0, 1, 2, 3]);
    assert_eq!(h_resumed.get("loss"), h_full.get("loss"));
    for ((name, a), (_, b)) in w_full.iter().zip(w_resumed.iter()) {
        assert!(a.equal(b), "{name} differs after resuming");
    }
    // Without the backup, a different seed would give other weights: the check can fail.
    let (_, w_other) = run(&dir.path().join("c"), None, 8);
    assert!(w_full
        .iter()
        .zip(w_other.iter())
        .any(|((_, a), (_, b))| !a.equal(b)));
}
