//! The all-reduce of one tensor among the ranks `torchrun` starts:
//!
//! ```text
//! torchrun --nproc-per-node 2 --no-python target/release/examples/allreduce
//! ```
//!
//! Each rank contributes `rank + 1` in four places and prints the sum (3 and 12 for two
//! ranks: every rank prints the same).
#![allow(clippy::print_stdout)]

use convkit_c10d::ProcessGroup;
use tch::{Device, Kind, Tensor};

fn main() -> Result<(), convkit_c10d::Error> {
    let Some(group) = ProcessGroup::from_env()? else {
        println!("not started by torchrun (no WORLD_SIZE): one process, nothing to reduce");
        return Ok(());
    };
    let r = group.rank() as f64;
    let mut t = vec![Tensor::full([4], r + 1.0, (Kind::Float, Device::Cpu))];
    group.all_reduce_sum(&mut t)?;
    println!(
        "rank {} of {}: all-reduced sum {} (total {})",
        group.rank(),
        group.world_size(),
        t[0].f_double_value(&[0])?,
        t[0].f_sum(Kind::Double)?.f_double_value(&[])?
    );
    Ok(())
}
