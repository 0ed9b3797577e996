"""Seconds per MNIST epoch and peak memory: convkit vs PyTorch eager vs Keras 3 (torch backend).

Same model (the book's MNIST convnet, 93,322 parameters), same data (the IDX files in
$CONVKIT_DATA/mnist), same batch size (64), same optimizer (RMSprop lr 1e-3, rho 0.9,
eps 1e-7), same number of libtorch threads, on the same machine in the same run. Each peer runs
in its own process under /usr/bin/time for its peak RSS; epoch times exclude data loading.
Each framework runs in float32 and in its fastest configuration: convkit with
`--precision mixed_bfloat16`, PyTorch with bf16 autocast + channels-last, Keras with the
`mixed_bfloat16` policy.

Run from the repository root after `scripts/run mnist --epochs 0` (or any build):

    .venv/bin/python benches/compare/compare_mnist.py [--epochs 2] [--threads 2] [--json FILE]

Keras is installed into the venv if missing (`pip install keras`).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.environ.get("CONVKIT_DATA", os.path.join(ROOT, "datasets"))


def load_idx(name):
    import numpy as np

    with open(os.path.join(DATA, "mnist", name), "rb") as f:
        raw = f.read()
    rank = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def book_torch_convnet(wrap=lambda m: m):
    """The book's MNIST convnet in PyTorch (logits; the loss applies the softmax), `wrap`ped
    (DistributedDataParallel for the distributed comparison), with its RMSprop and loss."""
    import torch
    import torch.nn as nn

    model = wrap(nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
        nn.Linear(576, 64), nn.ReLU(), nn.Linear(64, 10),
    ))
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    return model, opt, nn.CrossEntropyLoss()


def torch_epoch(model, opt, loss_fn, x, y, order, batch=64, fast=False):
    """One training epoch over `x[order]` (u8 images scaled per batch, as convkit's); `fast`:
    bf16 autocast + channels-last (the model already converted)."""
    import torch

    model.train()
    for i in range(0, order.shape[0], batch):
        idx = order[i : i + batch]
        xb = x[idx].float() / 255.0
        if fast:
            xb = xb.contiguous(memory_format=torch.channels_last)
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=fast):
            out = model(xb)
        loss = loss_fn(out.float(), y[idx])
        loss.backward()
        opt.step()


def peer_torch(epochs, threads, fast=False):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x = torch.from_numpy(load_idx("train-images-idx3-ubyte").copy()).unsqueeze(1)
    y = torch.from_numpy(load_idx("train-labels-idx1-ubyte").astype("int64"))
    model, opt, loss_fn = book_torch_convnet()
    if fast:
        model = model.to(memory_format=torch.channels_last)
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        torch_epoch(model, opt, loss_fn, x, y, torch.randperm(x.shape[0]), fast=fast)
        times.append(time.perf_counter() - t0)
    return times


def keras_mnist(split):
    """MNIST `train` or `test` as Keras' book code prepares it: NHWC floats in [0, 1] and
    one-hot labels. Needs KERAS_BACKEND set before the first keras import."""
    import keras

    prefix = {"train": "train", "test": "t10k"}[split]
    x = load_idx(f"{prefix}-images-idx3-ubyte").reshape(-1, 28, 28, 1).astype("float32") / 255
    y = keras.utils.to_categorical(load_idx(f"{prefix}-labels-idx1-ubyte"), 10)
    return x, y


def keras_book_convnet():
    """The book's MNIST convnet in Keras 3, compiled as in the book (RMSprop, categorical
    crossentropy, accuracy)."""
    import keras
    from keras import layers

    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.Flatten(),
        layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def peer_keras(epochs, threads, fast=False):
    os.environ["KERAS_BACKEND"] = "torch"
    import torch

    torch.set_num_threads(threads)
    import keras

    if fast:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    x, y = keras_mnist("train")
    model = keras_book_convnet()

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t0)

    times = []
    model.fit(x, y, epochs=epochs, batch_size=64, verbose=0, callbacks=[Timer()])
    return times


def timed(cmd, env=None):
    out = subprocess.run(["/usr/bin/time", "-f", "MAXRSS_KB=%M"] + cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr}")
    rss = int(re.search(r"MAXRSS_KB=(\d+)", out.stderr).group(1)) / 1024
    return out.stdout, rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--peer", choices=["torch", "keras", "torch_fast", "keras_fast"])
    ap.add_argument("--json")
    args = ap.parse_args()
    if args.peer:
        run = {"torch": peer_torch, "keras": peer_keras}[args.peer.removesuffix("_fast")]
        times = run(args.epochs, args.threads, fast=args.peer.endswith("_fast"))
        print(json.dumps({"epoch_seconds": times}))
        return

    # Looked up without importing: importing keras with no KERAS_BACKEND tries TensorFlow.
    import importlib.util

    if importlib.util.find_spec("keras") is None:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "keras==3.15.1"])

    results = {}
    for name, precision in [("convkit", "float32"), ("convkit_fast", "mixed_bfloat16")]:
        with tempfile.TemporaryDirectory() as out:
            env = dict(os.environ, CONVKIT_DATA=DATA)
            env.pop("LD_LIBRARY_PATH", None)
            cmd = [os.path.join(ROOT, "target", "release", "convkit"), "mnist", "--epochs", str(args.epochs),
                   "--threads", str(args.threads), "--device", "cpu", "--precision", precision, "--out", out]
            _, rss = timed(cmd, env)
            with open(os.path.join(out, "history.json")) as f:
                results[name] = (json.load(f)["epoch_seconds"], rss)
    for peer in ["torch", "torch_fast", "keras", "keras_fast"]:
        stdout, rss = timed([sys.executable, __file__, "--peer", peer, "--epochs", str(args.epochs), "--threads", str(args.threads)])
        results[peer] = (json.loads(stdout.strip().splitlines()[-1])["epoch_seconds"], rss)

    # Epoch 1 includes warm-up in every framework; report the mean of the later epochs when there are any.
    def per_epoch(ts):
        later = ts[1:] if len(ts) > 1 else ts
        return sum(later) / len(later)

    base = per_epoch(results["torch"][0])
    print(f"MNIST convnet, batch 64, {args.epochs} epoch(s), {args.threads} thread(s)")
    print(f"{'peer':<34}{'s/epoch':>10}{'ratio vs torch':>16}{'peak RSS MiB':>14}")
    labels = [("convkit", "convkit float32"), ("convkit_fast", "convkit mixed_bfloat16"),
              ("torch", "PyTorch eager float32"), ("torch_fast", "PyTorch eager bf16 + channels-last"),
              ("keras", "Keras 3 (torch) float32"), ("keras_fast", "Keras 3 (torch) mixed_bfloat16")]
    for name, label in labels:
        ts, rss = results[name]
        print(f"{label:<34}{per_epoch(ts):>10.2f}{per_epoch(ts) / base:>16.3f}{rss:>14.0f}")
    if args.json:
        out = {name: {"epoch_seconds": ts, "seconds_per_epoch": per_epoch(ts), "peak_rss_mib": rss}
               for name, (ts, rss) in results.items()}
        out.update(epochs=args.epochs, threads=args.threads)
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
