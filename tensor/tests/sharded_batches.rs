//! `TensorBatches::shard`: `DistributedSampler`'s rule (`drop_last=False`) — one shuffled
//! order for all ranks, padded from its start to a multiple of the world size, rank `r` taking
//! positions `r, r + world, ...`; PyTorch's sampler gives the same shares for the same order
//! (`torch/utils/data/distributed.py`: `indices += indices[:padding_size]`,
//! `indices[rank:total_size:num_replicas]`).

use convkit_tensor::{BatchSource, Kind, Tensor, TensorBatches};

fn source(n: i64, shuffle: bool) -> TensorBatches {
    let x = Tensor::arange(n, (Kind::Int64, convkit_tensor::tch::Device::Cpu));
    TensorBatches::new(x.shallow_clone(), x, 2, shuffle).unwrap()
}

#[test]
fn ranks_take_strided_shares_of_the_padded_order() {
    // 10 samples on 4 ranks: padded to 12 with the order's first two.
    let whole = source(10, true).order(3);
    let mut seen = Vec::new();
    for rank in 0..4 {
        let share = source(10, true).sharded(rank, 4).unwrap();
        assert_eq!(share.num_samples(), 3);
        assert_eq!(share.batches_per_epoch(), 2);
        let order = share.order(3);
        let want: Vec<i64> = (rank..12).step_by(4).map(|p| whole[p % 10]).collect();
        assert_eq!(order, want, "rank {rank}");
        seen.extend(order);
    }
    seen.sort();
    let mut all: Vec<i64> = (0..10).collect();
    all.extend(&whole[..2]);
    all.sort();
    assert_eq!(seen, all, "every sample once, the two padded ones twice");
}

#[test]
fn batches_hold_the_share_and_one_rank_is_the_whole() {
    let mut share = source(8, false).sharded(1, 2).unwrap();
    let served: Vec<i64> = share
        .epoch(0)
        .unwrap()
        .flat_map(|b| Vec::<i64>::try_from(b.unwrap().inputs).unwrap())
        .collect();
    assert_eq!(served, [1, 3, 5, 7]);
    let one = source(8, true).sharded(0, 1).unwrap();
    assert_eq!(one.order(2), source(8, true).order(2));
    assert!(source(8, true).sharded(2, 2).is_err());
}
