//! [`Shard`]: one rank's share of an epoch's samples, as PyTorch's `DistributedSampler`
//! takes it.
//!
//! Every rank computes the same epoch order (from the seed and the epoch); rank `r` of `N`
//! takes the positions `r, r + N, r + 2N, ...` of it. For training the order is first padded
//! from its start to a multiple of `N` (`drop_last=False`), so every rank runs as many steps
//! and `N` ranks at batch `B` see together, step by step, the samples one process sees at
//! batch `N * B`. For evaluation nothing is padded: each sample is counted once, on one rank,
//! and the ranks' sums are added ([`Shard::evaluation`]).

use crate::{Error, Result};

/// One rank's share of every epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    rank: usize,
    world_size: usize,
    padded: bool,
}

impl Shard {
    fn checked(rank: usize, world_size: usize, padded: bool) -> Result<Shard> {
        if world_size == 0 || rank >= world_size {
            return Err(Error::Invalid(format!(
                "rank {rank} of {world_size}: the rank must be below the world size"
            )));
        }
        Ok(Shard {
            rank,
            world_size,
            padded,
        })
    }

    /// The training share: padded, so every rank has `ceil(n / world_size)` samples.
    pub fn training(rank: usize, world_size: usize) -> Result<Shard> {
        Self::checked(rank, world_size, true)
    }

    /// The evaluation share: every sample once, on one rank (ranks may differ by one).
    pub fn evaluation(rank: usize, world_size: usize) -> Result<Shard> {
        Self::checked(rank, world_size, false)
    }

    /// This rank.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// The number of ranks.
    pub fn world_size(&self) -> usize {
        self.world_size
    }

    /// Whether the order is padded to a multiple of the world size.
    pub fn is_padded(&self) -> bool {
        self.padded
    }

    /// How many of `n` samples this rank takes.
    pub fn len_of(&self, n: usize) -> usize {
        if self.padded {
            n.div_ceil(self.world_size)
        } else {
            n.saturating_sub(self.rank).div_ceil(self.world_size)
        }
    }

    /// This rank's share of an epoch's `order` (every rank passes the same order).
    ///
    /// # Example
    /// ```
    /// use convkit_tensor::Shard;
    /// let order = [7, 3, 9, 1, 5];
    /// assert_eq!(Shard::training(1, 2).unwrap().select(&order), vec![3, 1, 7]);
    /// assert_eq!(Shard::evaluation(1, 2).unwrap().select(&order), vec![3, 1]);
    /// ```
    pub fn select<T: Copy>(&self, order: &[T]) -> Vec<T> {
        let n = order.len();
        if n == 0 {
            return Vec::new();
        }
        let end = if self.padded {
            n.div_ceil(self.world_size) * self.world_size
        } else {
            n
        };
        (self.rank..end)
            .step_by(self.world_size)
            .map(|p| order[p % n])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_shares_cover_the_padded_order_in_global_batches() {
        // torch.utils.data.DistributedSampler(range(10), num_replicas=4, rank=r,
        // shuffle=False): [0, 4, 8], [1, 5, 9], [2, 6, 0], [3, 7, 1].
        let order: Vec<usize> = (0..10).collect();
        let shares: Vec<Vec<usize>> = (0..4)
            .map(|r| Shard::training(r, 4).unwrap().select(&order))
            .collect();
        assert_eq!(shares[0], vec![0, 4, 8]);
        assert_eq!(shares[1], vec![1, 5, 9]);
        assert_eq!(shares[2], vec![2, 6, 0]);
        assert_eq!(shares[3], vec![3, 7, 1]);
        for (r, s) in shares.iter().enumerate() {
            assert_eq!(Shard::training(r, 4).unwrap().len_of(10), s.len());
        }
    }

    #[test]
    fn evaluation_shares_take_every_sample_once() {
        let order: Vec<usize> = (0..10).collect();
        let mut all: Vec<usize> = (0..4)
            .flat_map(|r| {
                let s = Shard::evaluation(r, 4).unwrap();
                let share = s.select(&order);
                assert_eq!(share.len(), s.len_of(10));
                share
            })
            .collect();
        all.sort();
        assert_eq!(all, order);
        assert_eq!(Shard::evaluation(3, 4).unwrap().len_of(2), 0);
    }

    #[test]
    fn refuses_a_rank_outside_the_world() {
        assert!(Shard::training(2, 2).is_err());
        assert!(Shard::evaluation(0, 0).is_err());
    }
}
