//! `CSVLogger`: one CSV row per epoch.

use std::io::Write;
use std::path::PathBuf;

use super::Callback;
use crate::models::model::Model;
use crate::training::{Logs, TrainingState};
use crate::{Error, Result};

/// Appends `epoch,<log names...>` rows to a CSV file after every epoch (flushed each time).
#[derive(Debug)]
pub struct CSVLogger {
    path: PathBuf,
    separator: char,
    append: bool,
    keys: Option<Vec<String>>,
    file: Option<std::fs::File>,
}

impl CSVLogger {
    /// Logs to `path`, overwriting it.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        CSVLogger {
            path: path.into(),
            separator: ',',
            append: false,
            keys: None,
            file: None,
        }
    }
    /// Appends to an existing file instead of overwriting it.
    pub fn append(mut self, a: bool) -> Self {
        self.append = a;
        self
    }
    /// Sets the separator.
    pub fn separator(mut self, s: char) -> Self {
        self.separator = s;
        self
    }
}

impl Callback for CSVLogger {
    fn rank_zero_only(&self) -> bool {
        true
    }

    fn on_train_begin(&mut self, _model: &mut dyn Model, _state: &mut TrainingState) -> Result<()> {
        let existed = self.path.exists()
            && std::fs::metadata(&self.path)
                .map(|m| m.len() > 0)
                .unwrap_or(false);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(self.append)
            .truncate(!self.append)
            .open(&self.path)
            .map_err(|e| Error::file(&self.path, e))?;
        if self.append && existed {
            let text =
                std::fs::read_to_string(&self.path).map_err(|e| Error::file(&self.path, e))?;
            if let Some(header) = text.lines().next() {
                self.keys = Some(
                    header
                        .split(self.separator)
                        .skip(1)
                        .map(|s| s.to_string())
                        .collect(),
                );
            }
        }
        self.file = Some(file);
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &Logs,
        _model: &mut dyn Model,
        _state: &mut TrainingState,
    ) -> Result<()> {
        let sep = self.separator.to_string();
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        if self.keys.is_none() {
            let mut keys: Vec<String> = logs.0.iter().map(|(n, _)| n.clone()).collect();
            keys.sort();
            writeln!(file, "epoch{sep}{}", keys.join(&sep))
                .map_err(|e| Error::file(&self.path, e))?;
            self.keys = Some(keys);
        }
        let keys = self.keys.as_deref().unwrap_or(&[]);
        let values: Vec<String> = keys
            .iter()
            .map(|k| logs.get(k).map(|v| v.to_string()).unwrap_or_default())
            .collect();
        writeln!(file, "{epoch}{sep}{}", values.join(&sep))
            .map_err(|e| Error::file(&self.path, e))?;
        file.flush().map_err(|e| Error::file(&self.path, e))?;
        Ok(())
    }

    fn on_train_end(&mut self, _model: &mut dyn Model, _state: &mut TrainingState) -> Result<()> {
        self.file = None;
        Ok(())
    }
}
