//! The progress display of `fit`: Keras' bar on a terminal, one plain line per epoch otherwise.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::training::Logs;

/// How much `fit` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verbosity {
    /// A bar on a terminal, lines otherwise.
    #[default]
    Auto,
    /// Nothing.
    Silent,
    /// A progress bar per epoch (Keras' `verbose=1`).
    Bar,
    /// One line per epoch (Keras' `verbose=2`).
    Lines,
}

/// Draws progress for one `fit`.
pub(crate) struct Progress {
    mode: Verbosity,
    epochs: usize,
    steps: usize,
    bar: Option<ProgressBar>,
    started: Instant,
    last_draw: Instant,
}

impl Progress {
    pub(crate) fn new(mode: Verbosity, epochs: usize, steps: usize) -> Self {
        let mode = match mode {
            Verbosity::Auto if std::io::stdout().is_terminal() => Verbosity::Bar,
            Verbosity::Auto => Verbosity::Lines,
            m => m,
        };
        Progress {
            mode,
            epochs,
            steps,
            bar: None,
            started: Instant::now(),
            last_draw: Instant::now(),
        }
    }

    /// Whether the display wants running values at this batch (throttled to 10 per second).
    pub(crate) fn wants_update(&self, step: usize) -> bool {
        self.mode == Verbosity::Bar
            && (step + 1 == self.steps || self.last_draw.elapsed() >= Duration::from_millis(100))
    }

    pub(crate) fn epoch_begin(&mut self, epoch: usize) {
        self.started = Instant::now();
        if self.mode == Verbosity::Bar {
            let _ = writeln!(std::io::stdout(), "Epoch {}/{}", epoch + 1, self.epochs);
            let bar = ProgressBar::with_draw_target(
                Some(self.steps as u64),
                ProgressDrawTarget::stdout(),
            );
            if let Ok(style) =
                ProgressStyle::with_template("{pos}/{len} {bar:20.green/white} {msg}")
            {
                bar.set_style(style.progress_chars("━━─"));
            }
            self.bar = Some(bar);
        }
    }

    pub(crate) fn batch_end(&mut self, step: usize, running: Option<&Logs>) {
        if let (Some(bar), Some(logs)) = (&self.bar, running) {
            let done = step + 1;
            let elapsed = self.started.elapsed().as_secs_f64();
            let per_step = elapsed / done as f64;
            let eta = per_step * (self.steps.saturating_sub(done)) as f64;
            bar.set_position(done as u64);
            bar.set_message(format!(
                "{} {:.0}ms/step - {}",
                eta_string(eta),
                per_step * 1e3,
                logs.display()
            ));
            self.last_draw = Instant::now();
        }
    }

    pub(crate) fn epoch_end(&mut self, epoch: usize, logs: &Logs) {
        let elapsed = self.started.elapsed().as_secs_f64();
        let per_step = elapsed / self.steps.max(1) as f64;
        match self.mode {
            Verbosity::Bar => {
                if let Some(bar) = self.bar.take() {
                    bar.set_position(self.steps as u64);
                    bar.finish_with_message(format!(
                        "{:.0}s {:.0}ms/step - {}",
                        elapsed,
                        per_step * 1e3,
                        logs.display()
                    ));
                }
            }
            Verbosity::Lines => {
                let _ = writeln!(
                    std::io::stdout(),
                    "Epoch {}/{} - {}/{} - {:.1}s - {:.0}ms/step - {}",
                    epoch + 1,
                    self.epochs,
                    self.steps,
                    self.steps,
                    elapsed,
                    per_step * 1e3,
                    logs.display()
                );
            }
            _ => {}
        }
    }
}

fn eta_string(seconds: f64) -> String {
    let s = seconds.round() as u64;
    if s >= 3600 {
        format!("ETA {}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
    } else if s >= 60 {
        format!("ETA {}:{:02}", s / 60, s % 60)
    } else {
        format!("ETA {s}s")
    }
}
