"""Does mixed precision keep the accuracy? The book's MNIST recipe (5 epochs, batch 64,
RMSprop) in float32 and in Keras' `mixed_bfloat16`, the same seeds for both, paired.

Each run is `convkit mnist --seed S --epochs E --precision P --threads 1`, `--jobs` at a time;
results go to a JSON-lines file as they finish, so the study can be stopped and resumed
(finished runs are skipped).

    .venv/bin/python benches/compare/precision_study.py --seeds 1-5 --out runs/precision.jsonl
    .venv/bin/python benches/compare/precision_study.py --summary runs/precision.jsonl

The summary prints each precision's accuracies, the paired differences (bf16 - fp32), their
mean and standard error, and whether the mean is within 0.002 or within two standard errors
of it (issue 17's bar).
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PRECISIONS = ["float32", "mixed_bfloat16"]


def seeds_of(text):
    out = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def run_one(precision, seed, epochs):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [os.path.join(ROOT, "target", "release", "convkit"), "mnist", "--seed", str(seed),
               "--epochs", str(epochs), "--precision", precision, "--threads", "1",
               "--device", "cpu", "--out", tmp]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
        if out.returncode != 0:
            raise RuntimeError(f"{precision} seed {seed} failed:\n{out.stderr[-2000:]}")
        with open(os.path.join(tmp, "metrics.json")) as f:
            m = json.load(f)
    return {"precision": precision, "seed": seed, "epochs": epochs,
            "test_accuracy": m["test_accuracy"], "test_loss": m.get("test_loss")}


def load(path):
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            rows = [json.loads(line) for line in f if line.strip()]
    return rows


def summary(path):
    rows = load(path)
    by = {(r["precision"], r["seed"]): r["test_accuracy"] for r in rows}
    seeds = sorted({s for (_, s) in by if all((p, s) in by for p in PRECISIONS)})
    if not seeds:
        print("no seed has both precisions yet")
        return 1
    for p in PRECISIONS:
        print(f"{p:<15}", " ".join(f"{by[(p, s)]:.4f}" for s in seeds))
    diffs = [by[("mixed_bfloat16", s)] - by[("float32", s)] for s in seeds]
    n = len(diffs)
    mean = sum(diffs) / n
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1)) if n > 1 else float("nan")
    se = sd / math.sqrt(n) if n > 1 else float("nan")
    print(f"paired differences (bf16 - fp32), seeds {seeds}:",
          " ".join(f"{d:+.4f}" for d in diffs))
    print(f"mean {mean:+.4f}, standard deviation {sd:.4f}, standard error {se:.4f}")
    ok = abs(mean) <= 0.002 or abs(mean) <= 2 * se
    print("holds" if ok else "does NOT hold",
          f"(|mean| <= 0.002: {abs(mean) <= 0.002}; |mean| <= 2 SE: {abs(mean) <= 2 * se})")
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", default="1-5")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--out", default="runs/precision.jsonl")
    p.add_argument("--summary", help="print the summary of this file and stop")
    a = p.parse_args()
    if a.summary:
        return summary(a.summary)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    done = {(r["precision"], r["seed"]) for r in load(a.out) if r["epochs"] == a.epochs}
    todo = [(pr, s) for s in seeds_of(a.seeds) for pr in PRECISIONS if (pr, s) not in done]
    with ThreadPoolExecutor(a.jobs) as pool, open(a.out, "a") as f:
        for row in pool.map(lambda t: run_one(t[0], t[1], a.epochs), todo):
            print(json.dumps(row), flush=True)
            f.write(json.dumps(row) + "\n")
            f.flush()
    return summary(a.out)


if __name__ == "__main__":
    sys.exit(main())
