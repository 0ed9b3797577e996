"""Milliseconds per training step: convkit against PyTorch eager in each of its
configurations, same nets, same batch, same optimizer, same threads, same machine, same run.

Nets: the book's MNIST convnet (1x28x28, batch 64, softmax over 10) and its cats-vs-dogs
convnet (3x150x150, batch 32, one sigmoid), RMSprop lr 1e-3, random inputs. PyTorch runs fp32
NCHW, fp32 channels-last, bf16 autocast, and bf16 autocast + channels-last (its fastest on
CPUs with AMX or AVX-512 BF16); convkit runs `convkit bench step` with --channels-last off and
on and --precision float32 and mixed_bfloat16 (Keras' policy: float32 variables, bf16
compute); Keras 3 (torch backend) runs `fit` in float32 and under `mixed_bfloat16`. Each
figure is the median of the rounds' milliseconds per step.

With --profile, convkit and each PyTorch configuration run one more round under libtorch's
operator observers (convkit: `convkit bench step --profile`, `convkit_profiler::OpTimer`;
PyTorch: torch.profiler) and report the time inside the outermost operators per step (c10/ATen
operators and autograd backward nodes, RecordScope FUNCTION and BACKWARD_FUNCTION) and the
overhead of the wall time over it, the distance to the kernel limit.

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
            xb, yb = x[i * batch:(i + 1) * batch], y[i * batch:(i + 1) * batch]
            if cl:
                xb = xb.contiguous(memory_format=torch.channels_last)
            opt.zero_grad()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                out = model(xb)
            loss = loss_fn(out.float(), yb)
            loss.backward()
            opt.step()

    epoch(3)
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

        with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
            t0 = time.perf_counter()
            epoch(steps)
            wall = (time.perf_counter() - t0) * 1e3 / steps
        op_ms = op_ms_per_step(prof, steps)
        line["profile"] = {"op_ms": op_ms, "profiled_wall_ms": wall, "wall_ms": median,
                           "overhead": median / op_ms - 1, "profiled_overhead": wall / op_ms - 1}
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
    model.fit(x[: 3 * batch], y[: 3 * batch], batch_size=batch, epochs=1, verbose=0)
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
    ap.add_argument("--json")
    ap.add_argument("--profile", action="store_true",
                    help="time inside libtorch's operators in one more round (convkit, PyTorch)")
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
    for name in args.nets.split(","):
        row = {"net": name, "batch": NETS[name][1]}
        for config in TORCH_CONFIGS:
            precision = "mixed_bfloat16" if config.startswith("bf16") else "float32"
            cl = "on" if config.endswith("_cl") else "off"
            r = run_json([BIN, "bench", "step", "--net", name, "--steps", str(args.steps),
                          "--rounds", str(args.rounds), "--threads", str(args.threads),
                          "--device", "cpu", "--channels-last", cl, "--precision", precision]
                         + (["--profile"] if args.profile else []))
            row[f"convkit_{config}"] = r["step_ms"]
            if r.get("profile"):
                row[f"convkit_{config}_profile"] = r["profile"]
        for config in TORCH_CONFIGS:
            r = run_json([sys.executable, me, "--worker", name, config, "--steps", str(args.steps),
                          "--rounds", str(args.rounds), "--threads", str(args.threads)]
                         + (["--profile"] if args.profile else []))
            row[f"torch_{config}"] = r["step_ms"]
            if r.get("profile"):
                row[f"torch_{config}_profile"] = r["profile"]
        for config in KERAS_CONFIGS:
            r = run_json([sys.executable, me, "--worker", name, config, "--steps", str(args.steps),
                          "--rounds", str(args.rounds), "--threads", str(args.threads)])
            row[config] = r["step_ms"]
        results["rows"].append(row)
        print(json.dumps(row), file=sys.stderr)
    print(f"CPU: {results['cpu']}, {args.threads} threads; ms per training step, median of "
          f"{args.rounds} rounds of {args.steps} steps\n")
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
              " (convkit: corrected for the observer's cost; PyTorch: unprofiled median over profiled"
              " operator time):")
        for row in results["rows"]:
            for k, v in row.items():
                if k.endswith("_profile"):
                    print(f"  {row['net']:<7} {k[:-8]:<18} op {v['op_ms']:7.2f}  wall {v['wall_ms']:7.2f}"
                          f"  overhead {100 * v['overhead']:6.1f}%  (observed round {100 * v['profiled_overhead']:.1f}%)")
    write_results(results, "step", args.json)


if __name__ == "__main__":
    main()
