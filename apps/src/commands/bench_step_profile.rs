//! `convkit bench step --profile`: how far a training step is from the time inside libtorch's
//! operators.
//!
//! Rounds of the same steps alternate unobserved and observed by [`OpTimer`] (outermost
//! operators' total only), then one round keeps the table of operators. The observed rounds
//! give the time inside operators (`op_ms`) and their own wall time; the unobserved ones the
//! wall time as it is. The observer costs a little per operator record: the difference of the
//! two walls divided by the records per step (from the table round) estimates it, and the
//! corrected overhead takes it out of both sides — nested records' share out of `op_ms`,
//! outermost records' share out of the time between operators.

use std::time::Instant;

use convkit_profiler::{OpTimer, OpTimes};
use serde_json::json;

/// Median of `v` (sorted in place; `v` non-empty).
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Profiles `round` (one round of `steps` training steps) over `rounds` alternating pairs and
/// a table round; the JSON object `convkit bench step` prints under `"profile"`.
pub(super) fn profile_rounds(
    mut round: impl FnMut() -> anyhow::Result<()>,
    steps: usize,
    rounds: usize,
) -> anyhow::Result<serde_json::Value> {
    let per_step = |secs: f64| secs * 1e3 / steps as f64;
    let (mut walls, mut observed_walls, mut op_ms, mut outer) = (vec![], vec![], vec![], vec![]);
    for _ in 0..rounds.max(1) {
        let started = Instant::now();
        round()?;
        walls.push(per_step(started.elapsed().as_secs_f64()));
        let timer = OpTimer::start()?;
        let started = Instant::now();
        round()?;
        observed_walls.push(per_step(started.elapsed().as_secs_f64()));
        let times = timer.stop()?;
        op_ms.push(per_step(times.total.as_secs_f64()));
        outer.push(times.calls as f64 / steps as f64);
    }
    let timer = OpTimer::start_with_table()?;
    round()?;
    let table = timer.stop()?;
    let (wall, observed, ops, outer) = (
        median(&mut walls),
        median(&mut observed_walls),
        median(&mut op_ms),
        median(&mut outer),
    );
    if ops.is_nan() || ops <= 0.0 {
        anyhow::bail!("the operator observers recorded no time inside libtorch's operators");
    }
    let records = table.ops.iter().map(|o| o.calls).sum::<u64>() as f64 / steps as f64;
    // The observer's cost per record (ms); zero when noise makes the observed rounds faster.
    let per_record = ((observed - wall) / records.max(1.0)).max(0.0);
    let true_ops = ops - (records - outer).max(0.0) * per_record;
    let true_gap = (observed - ops - outer * per_record).max(0.0);
    // Noise can make the estimated cost exceed the operators' own time: then only the
    // observed overhead is a figure.
    let overhead = if true_ops > 0.0 {
        true_gap / true_ops
    } else {
        observed / ops - 1.0
    };
    Ok(json!({
        "op_ms": ops, "wall_ms": wall, "profiled_wall_ms": observed,
        "profiled_overhead": observed / ops - 1.0,
        "overhead": overhead,
        "observer_us_per_record": per_record * 1e3,
        "op_calls": outer, "records": records,
        "top": top_ops(&table, steps),
    }))
}

/// The 20 operators with the largest own time, per step.
fn top_ops(table: &OpTimes, steps: usize) -> Vec<serde_json::Value> {
    let per_step = |d: std::time::Duration| d.as_secs_f64() * 1e3 / steps as f64;
    table
        .ops
        .iter()
        .take(20)
        .map(|o| {
            json!({"name": o.name, "self_ms": per_step(o.self_time),
                   "calls": o.calls as f64 / steps as f64})
        })
        .collect()
}
