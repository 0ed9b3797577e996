//! `convkit bench step`: milliseconds per training step (forward, loss, backward, RMSprop
//! update, through `fit`) of the book's MNIST convnet or its cats-vs-dogs convnet at 150x150,
//! on random inputs, printed as one JSON line (read by `benches/compare/compare_step.py`).
//! With `--profile`, more rounds run, alternately under libtorch's operator observers
//! ([`super::bench_step_profile`]), and the line also tells the time inside libtorch's
//! operators per step, the overhead of the wall time over it, and the largest operators.

use std::time::Instant;

use clap::Args;
use convkit_layers::applications::{mnist_convnet, small_convnet};
use convkit_layers::prelude::*;
use convkit_layers::training::fit;
use convkit_tensor::tch::{Kind, Tensor};
use serde_json::json;

use crate::ranges;
use crate::runtime::RuntimeArgs;

/// Arguments of `convkit bench step`.
#[derive(Args, Debug)]
pub struct StepArgs {
    /// Network: mnist (the book's MNIST convnet, 28x28x1, 10 classes) or catdog (the book's
    /// cats-vs-dogs convnet, 150x150x3, binary).
    #[arg(long, default_value = "mnist")]
    net: String,
    /// Batch size (default: mnist 64, catdog 32, as the book).
    #[arg(long, value_parser = ranges::batch_size())]
    batch_size: Option<usize>,
    /// Timed steps per round.
    #[arg(long, default_value_t = 20, value_parser = ranges::count(1, 100_000))]
    steps: usize,
    /// Rounds (the figure is the median round's milliseconds per step).
    #[arg(long, default_value_t = 3, value_parser = ranges::count(1, 1_000))]
    rounds: usize,
    /// Then run as many more pairs of rounds, one unobserved and one under libtorch's operator
    /// observers: the time inside libtorch's operators against the wall time (CPU only: on a
    /// GPU operators return before their kernels finish).
    #[arg(long)]
    profile: bool,
    #[command(flatten)]
    rt: RuntimeArgs,
}

/// Runs the command.
pub fn run(a: StepArgs) -> anyhow::Result<()> {
    let device = a.rt.setup()?;
    let (mut model, shape, batch, loss): (Box<dyn Model>, [i64; 3], usize, Loss) =
        match a.net.as_str() {
            "mnist" => (
                Box::new(mnist_convnet(device)?),
                [1, 28, 28],
                a.batch_size.unwrap_or(64),
                Loss::CategoricalCrossentropy { from_logits: false },
            ),
            "catdog" => (
                Box::new(small_convnet(150, None, device)?),
                [3, 150, 150],
                a.batch_size.unwrap_or(32),
                Loss::BinaryCrossentropy { from_logits: false },
            ),
            other => anyhow::bail!("--net must be mnist or catdog, got '{other}'"),
        };
    convkit_layers::training::compile(
        model.as_mut(),
        Box::new(RMSprop::new().learning_rate(1e-3)),
        loss,
        &[Metric::Accuracy],
    )?;
    let n = (batch * a.steps) as i64;
    let opts = (Kind::Float, device);
    let x = Tensor::f_rand([n, shape[0], shape[1], shape[2]], opts)?;
    let y = if a.net == "mnist" {
        Tensor::f_randint(10, [n], (Kind::Int64, device))?
            .f_one_hot(10)?
            .f_to_kind(Kind::Float)?
    } else {
        Tensor::f_randint(2, [n, 1], (Kind::Int64, device))?.f_to_kind(Kind::Float)?
    };
    let options = || {
        FitOptions::new()
            .epochs(1)
            .batch_size(batch)
            .shuffle(false)
            .verbose(Verbosity::Silent)
    };
    // Warm-up: oneDNN picks and caches its kernels on the first calls. At least 10 steps and
    // 3 seconds, as compare_step.py's WARMUP_STEPS and WARMUP_SECONDS give PyTorch.
    let warm = (batch * 10).min(n as usize) as i64;
    let warm_until = Instant::now() + std::time::Duration::from_secs(3);
    fit(
        model.as_mut(),
        &x.f_narrow(0, 0, warm)?,
        &y.f_narrow(0, 0, warm)?,
        options(),
    )?;
    while Instant::now() < warm_until {
        fit(model.as_mut(), &x, &y, options())?;
    }
    let mut rounds: Vec<f64> = Vec::with_capacity(a.rounds);
    for _ in 0..a.rounds {
        let started = Instant::now();
        fit(model.as_mut(), &x, &y, options())?;
        rounds.push(started.elapsed().as_secs_f64() * 1e3 / a.steps as f64);
    }
    rounds.sort_by(f64::total_cmp);
    let median = rounds[rounds.len() / 2];
    let profile = if a.profile {
        if !matches!(device, convkit_tensor::tch::Device::Cpu) {
            anyhow::bail!(
                "--profile times operators on the CPU only (on {device:?} they return before \
                 their kernels finish); use --device cpu"
            );
        }
        let run = || -> anyhow::Result<()> {
            fit(model.as_mut(), &x, &y, options())?;
            Ok(())
        };
        super::bench_step_profile::profile_rounds(run, a.steps, a.rounds)?
    } else {
        serde_json::Value::Null
    };
    println!(
        "{}",
        json!({
            "net": a.net, "batch": batch, "steps": a.steps, "rounds": rounds,
            "step_ms": median, "profile": profile, "device": format!("{device:?}"),
            "threads": convkit_tensor::threads::num_threads(),
            "channels_last": convkit_tensor::memory_format::uses_channels_last(device),
            "precision": convkit_layers::mixed_precision::global_policy().name(),
        })
    );
    Ok(())
}
