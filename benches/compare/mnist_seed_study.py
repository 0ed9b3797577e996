"""Test accuracy of the book's MNIST recipe over many seeds: convkit vs Keras 3 (torch backend).

Both run the same recipe (the book's convnet, RMSprop at Keras' defaults, categorical
crossentropy, batch 64, 5 epochs, shuffled every epoch) on the same IDX files; only the seed
changes. Each run is one process with one libtorch thread, `--jobs` at a time, so the two
frameworks share the machine evenly. Results are appended to a JSON-lines file as they finish,
so the study can be stopped and resumed (finished runs are skipped).

    .venv/bin/python benches/compare/mnist_seed_study.py --seeds 1-20 --out runs/seed_study.jsonl
    .venv/bin/python benches/compare/mnist_seed_study.py --summary runs/seed_study.jsonl

The summary prints each framework's mean, standard deviation and share of runs >= 0.990, and
Welch's t statistic for the difference of the means.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(__file__))
from compare_mnist import DATA, ROOT, keras_book_convnet, keras_mnist  # noqa: E402


def keras_run(seed, epochs):
    """One Keras run (the book's code); prints its test accuracy as JSON."""
    os.environ["KERAS_BACKEND"] = "torch"
    import torch

    torch.set_num_threads(1)
    import keras

    keras.utils.set_random_seed(seed)
    x, y = keras_mnist("train")
    tx, ty = keras_mnist("test")
    model = keras_book_convnet()
    model.fit(x, y, epochs=epochs, batch_size=64, verbose=0)
    loss, acc = model.evaluate(tx, ty, verbose=0)
    print(json.dumps({"test_loss": loss, "test_accuracy": acc}))


def run_one(framework, seed, epochs):
    env = dict(os.environ, CONVKIT_DATA=DATA, OMP_NUM_THREADS="1")
    if framework == "keras":
        cmd = [sys.executable, __file__, "--keras-run", str(seed), "--epochs", str(epochs)]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if out.returncode != 0:
            raise RuntimeError(f"keras seed {seed} failed:\n{out.stderr[-2000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [os.path.join(ROOT, "target", "release", "convkit"), "mnist", "--seed", str(seed),
               "--epochs", str(epochs), "--threads", "1", "--device", "cpu", "--out", tmp]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if out.returncode != 0:
            raise RuntimeError(f"convkit seed {seed} failed:\n{out.stderr[-2000:]}")
        with open(os.path.join(tmp, "metrics.json")) as f:
            m = json.load(f)
        return {"test_loss": m["test_loss"], "test_accuracy": m["test_accuracy"]}


def parse_seeds(text):
    seeds = []
    for part in text.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            seeds.extend(range(int(lo), int(hi) + 1))
        else:
            seeds.append(int(part))
    return seeds


def read_results(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def summary(path):
    rows = read_results(path)
    stats = {}
    for fw in ["convkit", "keras"]:
        acc = [r["test_accuracy"] for r in rows if r["framework"] == fw]
        loss = [r["test_loss"] for r in rows if r["framework"] == fw]
        if not acc:
            continue
        n = len(acc)
        mean = sum(acc) / n
        sd = math.sqrt(sum((a - mean) ** 2 for a in acc) / (n - 1)) if n > 1 else float("nan")
        passed = sum(a >= 0.990 for a in acc)
        stats[fw] = (n, mean, sd)
        print(f"{fw:<8} n={n:<3} mean={mean:.5f} sd={sd:.5f} min={min(acc):.4f} max={max(acc):.4f} "
              f">=0.990: {passed}/{n}; test loss mean={sum(loss) / n:.4f} max={max(loss):.4f}")
    if len(stats) == 2:
        (n1, m1, s1), (n2, m2, s2) = stats["convkit"], stats["keras"]
        se = math.sqrt(s1 ** 2 / n1 + s2 ** 2 / n2)
        print(f"difference convkit - keras = {m1 - m2:+.5f}, standard error {se:.5f}, Welch t = {(m1 - m2) / se:+.2f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="1-20")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--frameworks", default="convkit,keras")
    ap.add_argument("--out", default=os.path.join(ROOT, "runs", "seed_study.jsonl"))
    ap.add_argument("--summary", metavar="JSONL")
    ap.add_argument("--keras-run", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.keras_run is not None:
        keras_run(args.keras_run, args.epochs)
        return
    if args.summary:
        summary(args.summary)
        return

    done = {(r["framework"], r["seed"]) for r in read_results(args.out)}
    todo = [(fw, s) for s in parse_seeds(args.seeds) for fw in args.frameworks.split(",")
            if (fw, s) not in done]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)

    def work(item):
        fw, seed = item
        result = run_one(fw, seed, args.epochs)
        row = {"framework": fw, "seed": seed, "epochs": args.epochs, **result}
        with open(args.out, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)

    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(work, todo))
    summary(args.out)


if __name__ == "__main__":
    main()
