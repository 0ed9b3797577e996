//! After `keep_step_buffers_mapped`, a step that allocates, touches and frees a few large
//! buffers reuses the same memory the next time, instead of returning it to the kernel and
//! faulting every page in again (glibc's trim of the heap top). Linux only: page faults are
//! read from `/proc/self/stat`. This file holds one test, so no other thread allocates.

/// Minor page faults of this process so far (field 10 of `/proc/self/stat`).
fn minor_faults() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let after = &stat[stat.rfind(')')? + 2..];
    after.split(' ').nth(7)?.parse().ok()
}

/// A step's worth of buffers: four of 6 MiB, written through, then all freed.
fn step() {
    let buffers: Vec<Vec<u8>> = (0..4).map(|i| vec![i as u8 + 1; 6 << 20]).collect();
    std::hint::black_box(&buffers);
}

#[test]
fn a_training_step_reuses_its_buffers_instead_of_faulting_them_in_again() {
    let Some(_) = minor_faults() else {
        eprintln!("no /proc/self/stat here: nothing to measure");
        return;
    };
    convkit_tensor::allocator::keep_step_buffers_mapped();
    step();
    let before = minor_faults().unwrap();
    for _ in 0..20 {
        step();
    }
    let faults = minor_faults().unwrap() - before;
    // 20 steps of 24 MiB faulted in anew would be about 20 * 6144 = 123,000 faults.
    assert!(faults < 10_000, "{faults} page faults in 20 steps");
}
