//! `convkit plot history.json`: the book's training curves (training as dots, validation as
//! a line) from a saved history, optionally smoothed, as PNG or SVG.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use convkit_layers::prelude::History;
use convkit_viz::CurveOptions;

use crate::ranges;

/// Arguments of `convkit plot`.
#[derive(Args, Debug)]
pub struct PlotArgs {
    /// A history.json written by a training command.
    history: PathBuf,
    /// Output picture (.png or .svg; default: curves.png beside the history).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Exponential smoothing factor (the book uses 0.8).
    #[arg(long, allow_hyphen_values = true, value_parser = ranges::fraction())]
    smooth: Option<f64>,
}

/// Runs the command.
pub fn run(args: PlotArgs) -> anyhow::Result<()> {
    let history = History::load(&args.history)
        .with_context(|| format!("reading the history {}", args.history.display()))?;
    let out = args.out.clone().unwrap_or_else(|| {
        args.history.with_file_name(if args.smooth.is_some() {
            "curves_smoothed.png"
        } else {
            "curves.png"
        })
    });
    convkit_viz::save_training_curves_with(
        &history.history,
        &out,
        &CurveOptions {
            smoothing: args.smooth,
        },
    )?;
    println!(
        "{} epochs of {} -> {}",
        history.epoch.len(),
        history
            .history
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", "),
        out.display()
    );
    Ok(())
}
