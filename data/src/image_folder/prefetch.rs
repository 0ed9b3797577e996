//! Prefetching: an epoch of an image folder runs on a producer thread that assembles batches
//! on the folder's thread pool, at most `prefetch` batches ahead of the consumer (and one more
//! being gathered).

use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

use convkit_tensor::{Batch, BatchSource};

use super::batching::{gather, to_batch, BatchPixels};
use super::loader::ImageFolder;
use crate::Result;

impl BatchSource for ImageFolder {
    fn num_samples(&self) -> usize {
        let all = self.shared.samples.len() * self.shared.opts.repeat.max(1);
        self.shard.map_or(all, |s| s.len_of(all))
    }

    fn shard(&mut self, shard: convkit_tensor::Shard) -> convkit_tensor::Result<()> {
        self.shard = (shard.world_size() > 1).then_some(shard);
        Ok(())
    }

    fn batches_per_epoch(&self) -> usize {
        self.num_samples().div_ceil(self.shared.opts.batch_size)
    }

    fn epoch(
        &mut self,
        epoch: usize,
    ) -> convkit_tensor::Result<Box<dyn Iterator<Item = convkit_tensor::Result<Batch>> + '_>> {
        let order = self.passes(epoch);
        let (tx, rx) = sync_channel(self.shared.opts.prefetch.max(1));
        let shared = Arc::clone(&self.shared);
        let pool = Arc::clone(&self.pool);
        let seed = self.seed();
        std::thread::Builder::new()
            .name("convkit-loader".into())
            .spawn(move || {
                // Batch k becomes tensors while the pool gathers batch k + 1 (a join on the
                // pool), so the loader threads never wait for libtorch's copies.
                let mut chunks = order.chunks(shared.opts.batch_size);
                let mut gathered: Option<BatchPixels> = None;
                loop {
                    let chunk = chunks.next();
                    if chunk.is_none() && gathered.is_none() {
                        return;
                    }
                    let (next, batch) = pool.install(|| {
                        rayon::join(
                            || chunk.map(|c| gather(&shared, c, seed, true)).transpose(),
                            || gathered.take().map(|px| to_batch(&shared, px)),
                        )
                    });
                    if let Some(batch) = batch {
                        let failed = batch.is_err();
                        if tx.send(batch).is_err() || failed {
                            return;
                        }
                    }
                    match next {
                        Ok(px) => gathered = px,
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    }
                }
            })
            .map_err(|e| convkit_tensor::Error::Invalid(format!("cannot start the loader: {e}")))?;
        Ok(Box::new(Batches { rx }))
    }
}

/// The batches of one epoch, as the producer thread sends them.
struct Batches {
    rx: Receiver<Result<Batch>>,
}

impl Iterator for Batches {
    type Item = convkit_tensor::Result<Batch>;
    fn next(&mut self) -> Option<Self::Item> {
        let b = self.rx.recv().ok()?;
        Some(
            b.map_err(|e| match e {
                crate::Error::Tensor(t) => t,
                other => convkit_tensor::Error::other(other),
            })
            .and_then(|b| {
                if b.is_empty() {
                    Err(convkit_tensor::Error::Invalid(
                        "every image of a batch was skipped as unreadable".into(),
                    ))
                } else {
                    Ok(b)
                }
            }),
        )
    }
}
