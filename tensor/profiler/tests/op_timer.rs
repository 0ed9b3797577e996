//! The operator timer against the wall clock and against what ran: matrix products whose
//! count we know, a backward pass whose nodes libtorch names, nothing counted after `stop`.

use std::time::Instant;

use convkit_profiler::{OpTimer, ProfilerError};
use tch::{Device, Kind, Tensor};

/// One test: the observer is process-wide, and the test harness runs tests on threads.
#[test]
fn counts_what_ran_and_stays_below_the_wall_clock() {
    let a = Tensor::rand([384, 384], (Kind::Float, Device::Cpu));
    let _ = a.matmul(&a); // warm-up outside the timer

    let timer = OpTimer::start_with_table().unwrap();
    assert!(matches!(
        OpTimer::start(),
        Err(ProfilerError::AlreadyRunning)
    ));
    let started = Instant::now();
    for _ in 0..20 {
        let _ = a.matmul(&a);
    }
    let wall = started.elapsed();
    let times = timer.stop().unwrap();

    let mm = times
        .ops
        .iter()
        .find(|o| o.name == "aten::mm")
        .expect("aten::mm timed");
    assert_eq!(mm.calls, 20, "{times:?}");
    // matmul -> mm: 20 outermost calls, their time below the wall clock and most of it.
    assert_eq!(times.calls, 20, "{times:?}");
    assert!(times.total <= wall, "{:?} > {wall:?}", times.total);
    assert!(
        times.total.as_secs_f64() > 0.5 * wall.as_secs_f64(),
        "{:?} of {wall:?}",
        times.total
    );
    let diff = times.self_total().as_secs_f64() - times.total.as_secs_f64();
    assert!(
        diff.abs() < 1e-6,
        "own times sum to {:?}, total {:?}",
        times.self_total(),
        times.total
    );

    // Backward nodes run through the autograd engine on this thread and are counted too.
    let w = Tensor::rand([384, 384], (Kind::Float, Device::Cpu)).set_requires_grad(true);
    let timer = OpTimer::start_with_table().unwrap();
    a.matmul(&w).sum(Kind::Float).backward();
    let times = timer.stop().unwrap();
    assert!(
        times.ops.iter().any(|o| o.name.contains("MmBackward")),
        "no backward node in {:?}",
        times.ops.iter().map(|o| &o.name).collect::<Vec<_>>()
    );

    // Stopped means stopped: a new timer starts from zero and sees only its own calls; without
    // a table it counts the same outermost calls and keeps no rows.
    let _ = a.matmul(&a);
    let timer = OpTimer::start().unwrap();
    let _ = a.relu();
    let started = Instant::now();
    for _ in 0..5 {
        let _ = a.matmul(&a);
    }
    let wall = started.elapsed();
    let times = timer.stop().unwrap();
    assert_eq!(times.calls, 6, "{times:?}");
    assert!(times.ops.is_empty(), "{times:?}");
    assert!(
        times.total.as_secs_f64() > 0.5 * wall.as_secs_f64(),
        "{:?} of {wall:?}",
        times.total
    );
}
