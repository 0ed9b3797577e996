//! [`keep_step_buffers_mapped`]: the one allocator setting that keeps a training step's
//! buffers in place between steps under glibc's `malloc`, which libtorch allocates through.
//!
//! glibc maps blocks over its *mmap threshold* (128 KiB at start) one by one and unmaps them
//! when freed; freeing such a block raises the threshold to its size (up to 32 MiB) and the
//! trim threshold to twice that. A convnet step allocates and frees activation buffers of a
//! few MiB each; where the threshold is still low, or where the freed top of the heap passes
//! the trim threshold, every step maps (or grows) and returns its memory and touches it anew:
//! on `convkit mnist` that was 16 million page faults and epochs 35% slower in some runs
//! (which ones depended on the heap's layout), against half a million faults in the others.
//! Freeing one 32 MiB block at the start sets both thresholds to their steady values at once,
//! as PyTorch users get by setting `MALLOC_MMAP_THRESHOLD_`. Other allocators are unaffected.

use std::sync::Once;

/// The largest block whose release raises glibc's mmap threshold (its
/// `DEFAULT_MMAP_THRESHOLD_MAX` on 64-bit targets is 32 MiB), less room for its header.
const RAISING_BLOCK: usize = (32 << 20) - (64 << 10);

/// Raises glibc's mmap and trim thresholds to their maxima by allocating and freeing one large
/// block (untouched, so it costs two system calls); once per process, later calls do nothing.
/// The fit loop calls it; call it before other heavy work of your own.
pub fn keep_step_buffers_mapped() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let block: Vec<u8> = Vec::with_capacity(RAISING_BLOCK);
        // Keep the allocation from being optimised away before it is freed.
        std::hint::black_box(block.as_ptr());
        drop(block);
    });
}
