"""Feature extraction with EfficientNet-Lite0 in PyTorch eager, for comparison with
`convkit features` (issue 4): the same network (efficientnet_pytorch layout, TF "same"
padding, ReLU6, BN eps 1e-3), the same ImageNet weights, the same images resized to 224x224
(bilinear) and scaled `(x - 127) / 128`, batch 32, global average pooling, on the same
machine and thread count.

    .venv/bin/python benches/compare/compare_features.py DIR [--threads 2] [--batch 32]

DIR is a folder of images (searched recursively, e.g. runs/features/data). Prints images/s
for the whole pass (decode + resize + forward), like convkit's "extracted features ... images/s".
"""
import argparse
import os
import time

import numpy as np
import torch
from PIL import Image

p = argparse.ArgumentParser()
p.add_argument("dir")
p.add_argument("--threads", type=int, default=2)
p.add_argument("--batch", type=int, default=32)
p.add_argument("--workers", type=int, default=0)
args = p.parse_args()
torch.set_num_threads(args.threads)

from lite0_torch import features  # noqa: E402


class Folder(torch.utils.data.Dataset):
    def __init__(self, root):
        self.paths = sorted(
            os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.lower().endswith((".png", ".jpg", ".jpeg"))
        )

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        img = Image.open(self.paths[i]).convert("RGB").resize((224, 224), Image.BILINEAR)
        return torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1)


ds = Folder(args.dir)
loader = torch.utils.data.DataLoader(ds, batch_size=args.batch, num_workers=args.workers)
start = time.time()
n = 0
with torch.no_grad():
    for x in loader:
        f = features((x.float() - 127.0) / 128.0)
        n += x.shape[0]
dt = time.time() - start
print(f"pytorch eager: {n} images in {dt:.1f} s = {n / dt:.1f} images/s (threads {args.threads}, batch {args.batch}, workers {args.workers}), features {tuple(f.shape[1:])}")
