"""Milliseconds per training step: convkit against PyTorch eager in each of its
configurations, same nets, same batch, same optimizer, same threads, same machine, same run.

Nets: the book's MNIST convnet (1x28x28, batch 64, softmax over 10) and its cats-vs-dogs
convnet (3x150x150, batch 32, one sigmoid), RMSprop lr 1e-3, random inputs. PyTorch runs fp32
NCHW, fp32 channels-last, bf16 autocast, and bf16 autocast + channels-last (its fastest on
CPUs with AMX or AVX-512 BF16); convkit runs `convkit bench step` with --channels-last off and
on and --precision float32 and mixed_bfloat16 (Keras' policy: float32 variables, bf16
compute); Keras 3 (torch backend) runs `fit` in float32 and under `mixed_bfloat16`. Each
figure is the median of the rounds' milliseconds per step over `--passes` passes through all
configurations, every other pass in reverse order (the machine's speed drifts over minutes).

With --profile, convkit and each PyTorch configuration then run `rounds` more pairs of rounds,
one unobserved and one under libtorch's operator observers (convkit: `convkit bench step
--profile`, `convkit_profiler::OpTimer`; PyTorch: torch.profiler), and report the time inside
the outermost operators per step (c10/ATen operators and autograd backward nodes, RecordScope
FUNCTION and BACKWARD_FUNCTION) and the overhead of the unobserved wall time over it (convkit's
also with its observer's measured cost per record taken out).

Run from the repository root after `cargo build --release -p convkit-apps`:

    .venv/bin/python benches/compare/compare_step.py [--threads 2] [--rounds 3] [--steps 20] [--json FILE]
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import time

from bench_results import cpu_model, write_results

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(ROOT, "target", "release", "convkit")
NETS = {"mnist": ((1, 28, 28), 64), "catdog": ((3, 150, 150), 32)}
TORCH_CONFIGS = ["fp32", "fp32_cl", "bf16", "bf16_cl"]
KERAS_CONFIGS = ["keras_fp32", "keras_bf16"]
# Warm-up before the timed rounds: at least this many steps and seconds (oneDNN builds its
# kernels for each shape on first use, and PyTorch's MNIST step measured here kept getting
# faster for its first ~50 steps); `convkit bench step` warms up alike.
WARMUP_STEPS = 10
WARMUP_SECONDS = 3.0


def torch_net(name):
    import torch.nn as nn

    if name == "mnist":
        model = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
            nn.Linear(576, 64), nn.ReLU(), nn.Linear(64, 10),
        )
        return model, nn.CrossEntropyLoss()
    layers, cin, side = [], 3, 150
    for cout in (32, 64, 128, 128):
        layers += [nn.Conv2d(cin, cout, 3), nn.ReLU(), nn.MaxPool2d(2)]
        cin, side = cout, (side - 2) // 2
    model = nn.Sequential(*layers, nn.Flatten(), nn.Linear(128 * side * side, 512), nn.ReLU(),
                          nn.Linear(512, 1))
    return model, nn.BCEWithLogitsLoss()


def op_ms_per_step(prof, steps):
    """Milliseconds per step inside operators outermost among libtorch's operators and
    autograd nodes (scopes 0 and 1; user scopes such as the optimizer's step are not
    operators), as convkit's OpTimer counts them."""
    total_us = 0.0
    for e in prof.events():
        if e.scope not in (0, 1):
            continue
        p = e.cpu_parent
        while p is not None and p.scope not in (0, 1):
            p = p.cpu_parent
        if p is None:
            total_us += e.time_range.elapsed_us()
    return total_us / 1e3 / steps


def torch_worker(name, config, steps, rounds, threads, profile=False):
    """One PyTorch configuration in this process; prints a JSON line."""
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    shape, batch = NETS[name]
    model, loss_fn = torch_net(name)
    cl = config.endswith("_cl")
    bf16 = config.startswith("bf16")
    if cl:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    x = torch.rand(steps * batch, *shape)
    y = (torch.randint(10, (steps * batch,)) if name == "mnist"
         else torch.randint(2, (steps * batch, 1)).float())

    def epoch(n):
        for i in range(n):
            i %= steps
            xb, yb = x[i * batch:(i + 1) * batch], y[i * batch:(i + 1) * batch]
            if cl:
                xb = xb.contiguous(memory_format=torch.channels_last)
            opt.zero_grad()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                out = model(xb)
            loss = loss_fn(out.float(), yb)
            loss.backward()
            opt.step()

    warm_until = time.perf_counter() + WARMUP_SECONDS
    epoch(WARMUP_STEPS)
    while time.perf_counter() < warm_until:
        epoch(steps)
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        epoch(steps)
        times.append((time.perf_counter() - t0) * 1e3 / steps)
    times.sort()
    median = times[len(times) // 2]
    line = {"net": name, "config": config, "step_ms": median, "rounds": times}
    if profile:
        from torch.profiler import ProfilerActivity
        from torch.profiler import profile as torch_profile

        # As `convkit bench step --profile`: unobserved and observed rounds alternate, so both
        # walls see the same state of the machine; the overhead is the unobserved median over
        # the operator time of the observed rounds.
        walls, observed, ops = [], [], []
        for _ in range(max(rounds, 1)):
            t0 = time.perf_counter()
            epoch(steps)
            walls.append((time.perf_counter() - t0) * 1e3 / steps)
            with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
                t0 = time.perf_counter()
                epoch(steps)
                observed.append((time.perf_counter() - t0) * 1e3 / steps)
            ops.append(op_ms_per_step(prof, steps))
        wall, seen, op_ms = (sorted(v)[len(v) // 2] for v in (walls, observed, ops))
        line["profile"] = {"op_ms": op_ms, "profiled_wall_ms": seen, "wall_ms": wall,
                           "overhead": wall / op_ms - 1, "profiled_overhead": seen / op_ms - 1,
                           "walls": walls, "profiled_walls": observed}
    print(json.dumps(line), flush=True)


def keras_worker(name, config, steps, rounds, threads):
    """Keras 3 (torch backend) in this process, `config` keras_fp32 or keras_bf16 (the
    `mixed_bfloat16` policy); `fit` over `steps` batches per round; prints a JSON line."""
    os.environ["KERAS_BACKEND"] = "torch"
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    import keras
    from keras import layers

    if config == "keras_bf16":
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    keras.utils.set_random_seed(0)
    (c, h, w), batch = NETS[name]
    if name == "mnist":
        from compare_mnist import keras_book_convnet

        model = keras_book_convnet()
        y = keras.utils.to_categorical(np.random.randint(0, 10, steps * batch), 10)
    else:
        stack = [keras.Input((h, w, c))]
        for filters in (32, 64, 128, 128):
            stack += [layers.Conv2D(filters, 3, activation="relu"), layers.MaxPooling2D(2)]
        stack += [layers.Flatten(), layers.Dense(512, activation="relu"),
                  layers.Dense(1, activation="sigmoid")]
        model = keras.Sequential(stack)
        model.compile(optimizer=keras.optimizers.RMSprop(1e-3), loss="binary_crossentropy",
                      metrics=["accuracy"])
        y = np.random.randint(0, 2, (steps * batch, 1)).astype("float32")
    x = np.random.rand(steps * batch, h, w, c).astype("float32")
    warm_until = time.perf_counter() + WARMUP_SECONDS
    model.fit(x[: WARMUP_STEPS * batch], y[: WARMUP_STEPS * batch], batch_size=batch, epochs=1,
              verbose=0)
    while time.perf_counter() < warm_until:
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
        times.append((time.perf_counter() - t0) * 1e3 / steps)
    times.sort()
    print(json.dumps({"net": name, "config": config, "step_ms": times[len(times) // 2],
                      "rounds": times}), flush=True)


def run_json(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr}")
    return [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")][-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--nets", default="mnist,catdog")
    ap.add_argument("--passes", type=int, default=2,
                    help="run every configuration this many times, alternating the order")
    ap.add_argument("--json")
    ap.add_argument("--profile", action="store_true",
                    help="time inside libtorch's operators in alternating observed rounds (convkit, PyTorch)")
    ap.add_argument("--worker", nargs=2, metavar=("NET", "CONFIG"))
    args = ap.parse_args()
    if args.worker:
        if args.worker[1].startswith("keras"):
            keras_worker(args.worker[0], args.worker[1], args.steps, args.rounds, args.threads)
        else:
            torch_worker(args.worker[0], args.worker[1], args.steps, args.rounds, args.threads,
                         args.profile)
        return
    if not os.path.exists(BIN):
        sys.exit(f"{BIN} is missing: cargo build --release -p convkit-apps")
    results = {"cpu": cpu_model(), "threads": args.threads, "date": datetime.date.today().isoformat(),
               "steps": args.steps, "rounds": args.rounds, "rows": []}
    me = os.path.abspath(__file__)
    def convkit_run(name, config, profile):
        precision = "mixed_bfloat16" if config.startswith("bf16") else "float32"
        cl = "on" if config.endswith("_cl") else "off"
        return run_json([BIN, "bench", "step", "--net", name, "--steps", str(args.steps),
                         "--rounds", str(args.rounds), "--threads", str(args.threads),
                         "--device", "cpu", "--channels-last", cl, "--precision", precision]
                        + (["--profile"] if profile else []))

    def worker_run(name, config, profile):
        return run_json([sys.executable, me, "--worker", name, config, "--steps", str(args.steps),
                         "--rounds", str(args.rounds), "--threads", str(args.threads)]
                        + (["--profile"] if profile else []))

    for name in args.nets.split(","):
        row = {"net": name, "batch": NETS[name][1]}
        runs = ([(f"convkit_{c}", convkit_run, c) for c in TORCH_CONFIGS]
                + [(f"torch_{c}", worker_run, c) for c in TORCH_CONFIGS]
                + [(c, worker_run, c) for c in KERAS_CONFIGS])
        rounds = {key: [] for key, _, _ in runs}
        # The machine's speed drifts over minutes: every run goes `passes` times, in reverse
        # order on every other pass, and its figure is the median of all its rounds.
        for p in range(args.passes):
            for key, run, config in (runs if p % 2 == 0 else runs[::-1]):
                profile = args.profile and p == 0 and not key.startswith("keras")
                r = run(name, config, profile)
                rounds[key] += r["rounds"]
                if r.get("profile"):
                    row[f"{key}_profile"] = r["profile"]
        for key, v in rounds.items():
            v.sort()
            row[key] = v[len(v) // 2]
            row[f"{key}_rounds"] = v
        results["rows"].append(row)
        print(json.dumps(row), file=sys.stderr)
    print(f"CPU: {results['cpu']}, {args.threads} threads; ms per training step, median of "
          f"{args.passes} x {args.rounds} rounds of {args.steps} steps\n")
    cols = ([f"convkit_{c}" for c in TORCH_CONFIGS] + [f"torch_{c}" for c in TORCH_CONFIGS]
            + KERAS_CONFIGS)
    print("| net, batch | " + " | ".join(cols)
          + " | best torch / best convkit | keras_bf16 / best convkit |")
    print("|---" * (len(cols) + 3) + "|")
    for row in results["rows"]:
        best_c = min(row[c] for c in cols if c.startswith("convkit"))
        best_t = min(row[c] for c in cols if c.startswith("torch"))
        cells = " | ".join(f"{row[c]:.1f}" for c in cols)
        print(f"| {row['net']}, {row['batch']} | {cells} | {best_t / best_c:.2f} "
              f"| {row['keras_bf16'] / best_c:.2f} |")
    if args.profile:
        print("\nms per step inside libtorch's operators and the overhead of the wall time over it"
              " (unobserved rounds alternating with observed ones; convkit's also corrected for its"
              " observer's cost):")
        for row in results["rows"]:
            for k, v in row.items():
                if k.endswith("_profile"):
                    print(f"  {row['net']:<7} {k[:-8]:<18} op {v['op_ms']:7.2f}  wall {v['wall_ms']:7.2f}"
                          f"  overhead {100 * v['overhead']:6.1f}%  (observed round {100 * v['profiled_overhead']:.1f}%)")
    write_results(results, "step", args.json)


if __name__ == "__main__":
    main()
