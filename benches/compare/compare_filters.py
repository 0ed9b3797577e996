"""Filter ascent per filter, a PyTorch eager loop against `convkit filters`, on the same
network (EfficientNet-Lite0 with its ImageNet weights, compare_features.py's layout), the
same layer (the stem convolution, convkit's `stem_conv`), the same recipe (the book's second
edition: 30 steps of 10 on L2-normalised gradients of the mean activation without a 2-pixel
border, start uniform in [0.4, 0.6], 224x224), all filters of the grid at once in one batch,
as convkit does.

    .venv/bin/python benches/compare/compare_filters.py [--threads 2] [--count 32]
"""
import argparse
import os
import re
import subprocess
import time

import torch
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--count", type=int, default=32)
p.add_argument("--json")
args = p.parse_args()
torch.set_num_threads(args.threads)

from lite0_torch import sd  # noqa: E402

w = sd["_conv_stem.weight"]


def stem(x):  # TF "same" padding for 224 -> 112 with k=3, s=2: 0 before, 1 after
    return F.conv2d(F.pad(x, [0, 1, 0, 1]), w, stride=2)


n = min(args.count, w.shape[0])
idx = torch.arange(n)
start = time.time()
img = torch.rand(n, 3, 224, 224) * 0.2 + 0.4
for _ in range(30):
    img.requires_grad_(True)
    act = stem(img)[torch.arange(n), idx][:, 2:-2, 2:-2]
    loss = act.mean((1, 2)).sum()
    (g,) = torch.autograd.grad(loss, img)
    g = g / g.flatten(1).norm(dim=1).clamp_min(1e-6).view(-1, 1, 1, 1)
    img = (img + 10.0 * g).detach()
torch_s = (time.time() - start) / n
print(f"pytorch eager: {n} filters in {torch_s * n:.2f} s = {torch_s:.3f} s/filter (threads {args.threads})")

root = os.path.join(os.path.dirname(__file__), "..", "..")
out = subprocess.run(
    [os.path.join(root, "target/release/convkit"), "filters", "--model", "efficientnet-lite0", "--layer", "stem_conv",
     "--count", str(n), "--threads", str(args.threads), "--out", "/tmp/convkit-filters-bench"],
    capture_output=True, text=True, check=True,
).stdout
line = next(ln for ln in out.splitlines() if "s/filter" in ln)
print("convkit:", line)
ours = float(re.search(r"([0-9.]+) s/filter", line).group(1))
print(f"ratio pytorch / convkit: {torch_s / ours:.2f} (above 1: convkit faster)")
if args.json:
    import json

    with open(args.json, "w") as f:
        json.dump({"threads": args.threads, "torch_s_per_filter": torch_s, "convkit_s_per_filter": ours,
                   "ratio": torch_s / ours}, f, indent=1)
