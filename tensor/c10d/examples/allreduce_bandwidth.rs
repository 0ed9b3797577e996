//! All-reduce bandwidth of the binding between the ranks `torchrun` starts: for each size,
//! float32 tensors summed in place, a few warm-up calls then timed ones; one JSON line per
//! size from rank 0 with the seconds per call and the algorithmic bandwidth (bytes / second),
//! as `benches/compare/compare_distributed.py` reads them beside PyTorch's own
//! `torch.distributed.all_reduce`.
//!
//! ```text
//! torchrun --nproc-per-node 2 --no-python target/release/examples/allreduce_bandwidth [BYTES...]
//! ```
#![allow(clippy::print_stdout)]

use std::time::Instant;

use convkit_c10d::ProcessGroup;
use tch::{Device, Kind, Tensor};

/// Sizes (bytes) when none are given: 4 KiB to 64 MiB.
const SIZES: [usize; 5] = [4 << 10, 64 << 10, 1 << 20, 16 << 20, 64 << 20];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(group) = ProcessGroup::from_env()? else {
        return Err("start it with torchrun (no WORLD_SIZE)".into());
    };
    let sizes: Vec<usize> = match std::env::args().skip(1).map(|a| a.parse()).collect() {
        Ok(v) if !Vec::<usize>::is_empty(&v) => v,
        Ok(_) => SIZES.to_vec(),
        Err(e) => return Err(format!("sizes in bytes: {e}").into()),
    };
    for bytes in sizes {
        let n = (bytes / 4).max(1) as i64;
        let mut t = vec![Tensor::f_ones([n], (Kind::Float, Device::Cpu))?];
        // About 1 GB moved per size, at least 5 and at most 200 calls.
        let calls = (1usize << 30).div_ceil(bytes).clamp(5, 200);
        for _ in 0..3 {
            group.all_reduce_sum(&mut t)?;
        }
        group.barrier()?;
        let started = Instant::now();
        for _ in 0..calls {
            group.all_reduce_sum(&mut t)?;
        }
        let secs = started.elapsed().as_secs_f64() / calls as f64;
        if group.rank() == 0 {
            println!(
                "{{\"bytes\": {bytes}, \"calls\": {calls}, \"seconds\": {secs:e}, \
                 \"bytes_per_second\": {:e}}}",
                bytes as f64 / secs
            );
        }
    }
    Ok(())
}
