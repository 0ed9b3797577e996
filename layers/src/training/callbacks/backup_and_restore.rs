//! `BackupAndRestore`: makes a killed `fit` resumable.
//!
//! After every epoch the model, optimizer state and training state are written to
//! `backup_dir/epoch-N` (through a temporary directory and a rename), then `backup_dir/latest`
//! is pointed at it (atomically). A new `fit` with the same backup directory restores the
//! latest backup and continues with the next epoch; because `fit` seeds every epoch from
//! (seed, epoch), it ends with the same weights as a run that was never interrupted. The
//! backup is deleted when training ends normally (after `FitOptions::save_model_to` has saved
//! the final model, so a kill during that save resumes from the backup).
//!
//! Data-parallel (`FitOptions::distributed`): rank 0 alone writes backups; at the start it
//! sends its latest backup to every rank through the process group (ranks on other machines
//! cannot read its disk), so all ranks resume from the same epoch, weights and optimizer
//! state.
//!
//! A backup records what it was made with (the optimizer, the steps per epoch, and any
//! settings the caller names, such as the batch size or a training-set limit); a run whose
//! settings differ refuses to resume from it and says what differs.

use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use convkit_tensor::atomic::remove_stale_temps;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::backup_broadcast::broadcast_backup;
use super::Callback;
use crate::models::model::Model;
use crate::saving::{load_weights, replace_dir, save_weights, OPTIMIZER_FILE, WEIGHTS_FILE};
use crate::training::{History, Logs, TrainingState};
use crate::{Error, Result};

const LATEST: &str = "latest";
const STATE_FILE: &str = "state.json";

#[derive(Serialize, Deserialize)]
struct BackupState {
    /// The last completed epoch (0-based).
    epoch: usize,
    seed: u64,
    history: History,
    /// What the backup was made with (absent in backups of older versions).
    #[serde(default)]
    settings: BTreeMap<String, Value>,
}

/// Backs training up after every epoch and resumes from the latest backup.
#[derive(Debug, Clone)]
pub struct BackupAndRestore {
    backup_dir: PathBuf,
    delete_on_success: bool,
    restored_from: Option<usize>,
    settings: BTreeMap<String, Value>,
}

impl BackupAndRestore {
    /// Backs up into `backup_dir`.
    pub fn new(backup_dir: impl Into<PathBuf>) -> Self {
        BackupAndRestore {
            backup_dir: backup_dir.into(),
            delete_on_success: true,
            restored_from: None,
            settings: BTreeMap::new(),
        }
    }

    /// Records a setting of the run (`"batch_size"`, `"train_limit"`...) in every backup; a
    /// later run resumes only if its value is the same. The optimizer and the steps per epoch
    /// are always recorded.
    pub fn setting(mut self, name: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.settings.insert(name.to_owned(), value);
        self
    }

    /// The settings of this run: the caller's, the optimizer's name and the steps per epoch.
    fn run_settings(&self, model: &dyn Model, state: &TrainingState) -> BTreeMap<String, Value> {
        let mut all = self.settings.clone();
        if let Some(c) = model.compiled() {
            let name = c.optimizer.config().get("name").cloned();
            all.insert("optimizer".into(), name.unwrap_or(Value::Null));
        }
        all.insert("steps_per_epoch".into(), json!(state.steps_per_epoch));
        all
    }

    /// Keeps the backup after a successful run (default: deleted, as Keras does).
    pub fn keep_on_success(mut self, keep: bool) -> Self {
        self.delete_on_success = !keep;
        self
    }

    /// The epoch (0-based, last completed) restored at the start of training, if any.
    pub fn restored_from(&self) -> Option<usize> {
        self.restored_from
    }

    /// The training state of the backup in `dir`, refused when made with other settings.
    fn read_state(
        &self,
        dir: &Path,
        model: &dyn Model,
        state: &TrainingState,
    ) -> Result<BackupState> {
        let state_path = dir.join(STATE_FILE);
        let text = std::fs::read(&state_path).map_err(|e| Error::file(&state_path, e))?;
        let saved: BackupState = serde_json::from_slice(&text)
            .map_err(|e| Error::file(&state_path, format!("invalid backup state: {e}")))?;
        let differences = differences(&saved.settings, &self.run_settings(model, state));
        if !differences.is_empty() {
            return Err(Error::file(
                &self.backup_dir,
                format!(
                    "cannot resume from this backup: it was made with {}; rerun with the \
                     backup's settings to resume, or delete {} to start over",
                    differences.join(", "),
                    self.backup_dir.display()
                ),
            ));
        }
        Ok(saved)
    }

    /// The directory of the latest backup, if there is one.
    pub fn latest(backup_dir: &Path) -> Option<PathBuf> {
        let name = std::fs::read_to_string(backup_dir.join(LATEST)).ok()?;
        let dir = backup_dir.join(name.trim());
        dir.join(STATE_FILE).exists().then_some(dir)
    }
}

/// Whether this process is a data-parallel rank other than 0 (which neither writes nor reads
/// the backup directory: rank 0 sends it its backup).
fn is_other_rank(state: &TrainingState) -> bool {
    state.distributed.as_ref().is_some_and(|g| g.rank() != 0)
}

impl Callback for BackupAndRestore {
    fn on_train_begin(&mut self, model: &mut dyn Model, state: &mut TrainingState) -> Result<()> {
        let mut latest = None;
        if !is_other_rank(state) {
            remove_stale_temps(&self.backup_dir);
            if let Some(parent) = self.backup_dir.parent() {
                remove_stale_temps(parent);
            }
            latest = Self::latest(&self.backup_dir);
        }
        // Data-parallel: every rank restores rank 0's backup (other machines cannot read its
        // disk), sent through the process group.
        let mut _copy = None;
        if let Some(group) = state.distributed.clone().filter(|g| g.world_size() > 1) {
            if let Some(dir) = &latest {
                // Rank 0 refuses a backup of other settings before sending it.
                self.read_state(dir, model, state)?;
            }
            _copy = broadcast_backup(&group, latest.as_deref())?;
            if let Some(copy) = &_copy {
                latest = Some(copy.dir().to_path_buf());
            }
        }
        let Some(dir) = latest else {
            return Ok(());
        };
        let saved = self.read_state(&dir, model, state)?;
        if saved.seed != convkit_tensor::seed::seed() {
            tracing::warn!(
                backup_seed = saved.seed,
                seed = convkit_tensor::seed::seed(),
                "resuming a backup made with another seed"
            );
        }
        load_weights(model, &dir.join(WEIGHTS_FILE))?;
        let opt_path = dir.join(OPTIMIZER_FILE);
        if let Some(c) = model.compiled_mut() {
            convkit_optim::load_state(c.optimizer.as_mut(), &c.trainable, &opt_path)
                .map_err(|e| Error::file(&opt_path, e))?;
        }
        tracing::info!(epoch = saved.epoch + 1, dir = %dir.display(), "resuming from backup");
        state.epoch = saved.epoch + 1;
        state.history = saved.history;
        self.restored_from = Some(saved.epoch);
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        _logs: &Logs,
        model: &mut dyn Model,
        state: &mut TrainingState,
    ) -> Result<()> {
        if is_other_rank(state) {
            return Ok(());
        }
        let name = format!("epoch-{epoch}");
        let target = self.backup_dir.join(&name);
        let tmp = self
            .backup_dir
            .join(format!(".{name}.tmp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let saved = BackupState {
            epoch,
            seed: convkit_tensor::seed::seed(),
            history: state.history.clone(),
            settings: self.run_settings(model, state),
        };
        let written =
            write_backup(model, &saved, &tmp).and_then(|()| Ok(replace_dir(&tmp, &target)?));
        if let Err(e) = written {
            // The previous backup stays the latest; nothing half-written is left.
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(Error::file(
                &self.backup_dir,
                format!(
                    "cannot back up epoch {} (the previous backup is kept): {e}",
                    epoch + 1
                ),
            ));
        }
        let previous = Self::latest(&self.backup_dir);
        convkit_tensor::atomic::write_bytes_atomic(&self.backup_dir.join(LATEST), name.as_bytes())?;
        if let Some(prev) = previous.filter(|p| p != &target) {
            let _ = std::fs::remove_dir_all(prev);
        }
        Ok(())
    }

    fn on_train_end(&mut self, _model: &mut dyn Model, state: &mut TrainingState) -> Result<()> {
        if is_other_rank(state) {
            return Ok(());
        }
        if self.delete_on_success && state.history.stop_reason.is_none() {
            let _ = std::fs::remove_dir_all(&self.backup_dir);
        }
        Ok(())
    }
}

/// Writes one epoch's backup (weights, optimizer state, training state) into the new
/// directory `dir`.
fn write_backup(model: &dyn Model, saved: &BackupState, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::file(dir, e))?;
    save_weights(model, &dir.join(WEIGHTS_FILE))?;
    if let Some(c) = model.compiled() {
        convkit_optim::save_state(c.optimizer.as_ref(), &dir.join(OPTIMIZER_FILE))?;
    }
    let json = serde_json::to_vec_pretty(saved).map_err(|e| Error::file(dir, e))?;
    std::fs::write(dir.join(STATE_FILE), json).map_err(|e| Error::file(dir.join(STATE_FILE), e))
}

/// "batch_size 64 (this run: 128)" for every setting both runs name with different values.
fn differences(backup: &BTreeMap<String, Value>, run: &BTreeMap<String, Value>) -> Vec<String> {
    backup
        .iter()
        .filter_map(|(name, then)| {
            let now = run.get(name)?;
            (now != then).then(|| format!("{name} {then} (this run: {now})"))
        })
        .collect()
}
