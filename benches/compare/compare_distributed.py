"""Data-parallel figures: convkit's c10d binding and data-parallel `fit` against PyTorch's own
`torch.distributed` (Gloo) and `DistributedDataParallel`, on this machine, in one run.

1. All-reduce bandwidth: float32 tensors of 4 KiB to 64 MiB summed in place between two
   processes on 127.0.0.1 (`torchrun --nproc-per-node 2`): convkit's
   `examples/allreduce_bandwidth` against `torch.distributed.all_reduce` with the same sizes
   and call counts.
2. The book's MNIST convnet, one epoch of the 60,000 training images, RMSprop, fp32:
   convkit on 2 ranks x 1 thread at 64 per rank (`torchrun ... convkit mnist --epochs 1`),
   convkit as 1 process x 2 threads at batch 128, and PyTorch DDP (Gloo) on 2 ranks x 1
   thread at 64 per rank (DistributedSampler, data preloaded as tensors, as convkit's).
   Seconds per epoch exclude start-up and data loading.

Run from the repository root after `cargo build --release -p convkit-apps` and
`cargo build --release -p convkit-c10d --example allreduce_bandwidth`:

    .venv/bin/python benches/compare/compare_distributed.py [--rounds 5] [--only allreduce|mnist] [--json FILE]

Each figure is the median of the rounds, convkit and PyTorch taking turns to go first.
Writes a markdown table to stdout and the figures as JSON (default
benches/compare/results/distributed_<date>.json).
"""

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from bench_results import cpu_model, write_results

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.environ.get("CONVKIT_DATA", os.path.join(ROOT, "datasets"))
BIN = os.path.join(ROOT, "target", "release", "convkit")
BANDWIDTH = os.path.join(ROOT, "target", "release", "examples", "allreduce_bandwidth")
TORCHRUN = os.path.join(os.path.dirname(sys.executable), "torchrun")
SIZES = [4 << 10, 64 << 10, 1 << 20, 16 << 20, 64 << 20]


def calls_for(size):
    # As the Rust example: about 1 GB moved per size, 5 to 200 calls.
    return min(max(-(-(1 << 30) // size), 5), 200)


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(args, env=None):
    cmd = [TORCHRUN, "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
           "--master-port", str(free_port())] + args
    e = dict(os.environ, OMP_NUM_THREADS="1", **(env or {}))
    out = subprocess.run(cmd, capture_output=True, text=True, env=e)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout


# ---- peers, run as torchrun workers -------------------------------------------------------

def worker_allreduce():
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    for size in SIZES:
        t = torch.ones(max(size // 4, 1))
        calls = calls_for(size)
        for _ in range(3):
            dist.all_reduce(t)
        dist.barrier()
        t0 = time.perf_counter()
        for _ in range(calls):
            dist.all_reduce(t)
        secs = (time.perf_counter() - t0) / calls
        if dist.get_rank() == 0:
            print(json.dumps({"bytes": size, "calls": calls, "seconds": secs,
                              "bytes_per_second": size / secs}), flush=True)
    dist.destroy_process_group()


def worker_ddp():
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP
    from torch.utils.data import DistributedSampler

    # Same folder: the MNIST comparison's IDX reader, convnet and epoch loop.
    from compare_mnist import book_torch_convnet, load_idx, torch_epoch

    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    torch.manual_seed(0)
    x = torch.from_numpy(load_idx("train-images-idx3-ubyte").copy()).unsqueeze(1)
    y = torch.from_numpy(load_idx("train-labels-idx1-ubyte").astype("int64"))
    model, opt, loss_fn = book_torch_convnet(DDP)
    sampler = DistributedSampler(range(x.shape[0]), shuffle=True, seed=0)
    sampler.set_epoch(0)
    order = torch.tensor(list(iter(sampler)))
    dist.barrier()
    t0 = time.perf_counter()
    torch_epoch(model, opt, loss_fn, x, y, order)
    dist.barrier()
    secs = time.perf_counter() - t0
    if dist.get_rank() == 0:
        print(json.dumps({"epoch_seconds": secs}), flush=True)
    dist.destroy_process_group()


# ---- the comparison -------------------------------------------------------------------------

def lines(stdout):
    return [json.loads(l) for l in stdout.splitlines() if l.startswith("{")]


def convkit_epoch(stdout):
    m = re.search(r"Epoch 1/1 - \d+/\d+ - ([0-9.]+)s", stdout)
    if not m:
        sys.exit(f"no epoch time in convkit's output:\n{stdout}")
    return float(m.group(1))


def history_epoch(out_dir):
    with open(os.path.join(out_dir, "history.json")) as f:
        return json.load(f)["epoch_seconds"][0]


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5,
                    help="alternating convkit / PyTorch rounds (the figures are their medians)")
    ap.add_argument("--only", choices=["allreduce", "mnist"])
    ap.add_argument("--json")
    ap.add_argument("--worker", choices=["allreduce", "ddp"])
    args = ap.parse_args()
    if args.worker:
        {"allreduce": worker_allreduce, "ddp": worker_ddp}[args.worker]()
        return
    for path in (BIN, BANDWIDTH):
        if not os.path.exists(path):
            sys.exit(f"{path} is missing: build it first (see the docstring)")
    me = os.path.abspath(__file__)
    results = {"cpu": cpu_model(), "cores": os.cpu_count(), "date": datetime.date.today().isoformat(),
               "rounds": args.rounds, "allreduce": [], "mnist": []}
    for r in range(args.rounds):
        # Who goes first alternates, so neither side always meets a warm (or hot) machine.
        first_ours = r % 2 == 0
        if args.only != "mnist":
            runs = {}
            for side in (("ours", "theirs") if first_ours else ("theirs", "ours")):
                cmd = ["--no-python", BANDWIDTH] if side == "ours" else [me, "--worker", "allreduce"]
                runs[side] = {l["bytes"]: l for l in lines(torchrun(cmd))}
            for size in SIZES:
                results["allreduce"].append({"round": r, "bytes": size,
                                             "convkit_s": runs["ours"][size]["seconds"],
                                             "torch_s": runs["theirs"][size]["seconds"]})
        if args.only != "allreduce":
            row = {"round": r}
            for side in (("ours", "theirs") if first_ours else ("theirs", "ours")):
                if side == "theirs":
                    row["torch_ddp_2x1_s"] = lines(torchrun([me, "--worker", "ddp"]))[0]["epoch_seconds"]
                    continue
                with tempfile.TemporaryDirectory() as tmp:
                    torchrun(["--no-python", BIN, "mnist", "--epochs", "1", "--data-dir", DATA,
                              "--out", os.path.join(tmp, "two")])
                    row["convkit_2x1_s"] = history_epoch(os.path.join(tmp, "two"))
                    one = subprocess.run([BIN, "mnist", "--epochs", "1", "--batch-size", "128",
                                          "--threads", "2", "--data-dir", DATA,
                                          "--out", os.path.join(tmp, "one")],
                                         capture_output=True, text=True)
                    if one.returncode != 0:
                        sys.exit(one.stdout + one.stderr)
                    row["convkit_1x2_s"] = history_epoch(os.path.join(tmp, "one"))
            results["mnist"].append(row)
            print(f"round {r}: convkit 2x1 {row['convkit_2x1_s']:.2f} s, 1x2 {row['convkit_1x2_s']:.2f} s, "
                  f"DDP 2x1 {row['torch_ddp_2x1_s']:.2f} s", file=sys.stderr)

    def spread(rows, key):
        xs = [row[key] for row in rows]
        return median(xs), min(xs), max(xs)

    print(f"CPU: {results['cpu']}, {results['cores']} cores; medians of {args.rounds} alternating "
          "rounds (min-max in brackets)\n")
    if results["allreduce"]:
        print("| all-reduce size | convkit (ms/call) | torch.distributed (ms/call) | convkit GB/s | torch GB/s | torch / convkit time |")
        print("|---|---|---|---|---|---|")
        for size in SIZES:
            rows = [x for x in results["allreduce"] if x["bytes"] == size]
            c, t = spread(rows, "convkit_s"), spread(rows, "torch_s")
            print(f"| {size / 1024:.0f} KiB | {c[0] * 1e3:.3f} ({c[1] * 1e3:.3f}-{c[2] * 1e3:.3f}) "
                  f"| {t[0] * 1e3:.3f} ({t[1] * 1e3:.3f}-{t[2] * 1e3:.3f}) "
                  f"| {size / c[0] / 1e9:.3f} | {size / t[0] / 1e9:.3f} | {t[0] / c[0]:.2f} |")
    if results["mnist"]:
        m = results["mnist"]
        c2, c1, d2 = spread(m, "convkit_2x1_s"), spread(m, "convkit_1x2_s"), spread(m, "torch_ddp_2x1_s")
        print("\n| MNIST convnet, 1 epoch | seconds | vs convkit 2 ranks |")
        print("|---|---|---|")
        for name, x in (("convkit, 2 ranks x 1 thread, 64 per rank", c2),
                        ("convkit, 1 process x 2 threads, batch 128", c1),
                        ("PyTorch DDP (Gloo), 2 ranks x 1 thread, 64 per rank", d2)):
            print(f"| {name} | {x[0]:.2f} ({x[1]:.2f}-{x[2]:.2f}) | {x[0] / c2[0]:.2f} |")
    write_results(results, "distributed", args.json)


if __name__ == "__main__":
    main()
