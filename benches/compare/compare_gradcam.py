"""Grad-CAM per image, pytorch-grad-cam against `convkit gradcam`, on the same network
(EfficientNet-Lite0 with its ImageNet weights, the efficientnet_pytorch layout of
compare_features.py), the same images (scikit-image's sample photos resized to 224x224 and
scaled `(x - 127) / 128`), the same layer (the ReLU6 after the head convolution, convkit's
`top_activation`), batch and threads.

    .venv/bin/python -m pip install grad-cam==1.5.7
    .venv/bin/python benches/compare/compare_gradcam.py DIR [--threads 2] [--batch 8] [--repeat 3]

DIR holds the images (e.g. datasets/backgrounds). Prints ms per image for pytorch-grad-cam
(GradCAM, targets = top class, the map resized to 224x224 as the library does), then runs
`target/release/convkit gradcam` on the same files with the same batch and prints its own
timing line ("Grad-CAM of N images in ... ms/image"), and the ratio.
"""
import argparse
import os
import re
import subprocess
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from pytorch_grad_cam import GradCAM

p = argparse.ArgumentParser()
p.add_argument("dir")
p.add_argument("--threads", type=int, default=2)
p.add_argument("--batch", type=int, default=8)
p.add_argument("--repeat", type=int, default=3)
p.add_argument("--json")
args = p.parse_args()
torch.set_num_threads(args.threads)

from lite0_torch import sd, top_map  # noqa: E402


class Lite0(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.top_activation = torch.nn.ReLU6()
        # pytorch-grad-cam reads the device from the first parameter; the weights themselves
        # stay frozen tensors (no gradients), as in convkit's pretrained model.
        self.anchor = torch.nn.Parameter(torch.zeros(1), requires_grad=False)

    def forward(self, x):
        x = top_map(x, self.top_activation).mean((2, 3))
        return F.linear(x, sd["_fc.weight"], sd["_fc.bias"]).softmax(1)


paths = sorted(os.path.join(args.dir, f) for f in os.listdir(args.dir) if f.lower().endswith((".png", ".jpg", ".jpeg")))
paths = paths[: args.batch]
imgs = [np.asarray(Image.open(q).convert("RGB").resize((224, 224), Image.BILINEAR), dtype=np.float32) for q in paths]
x = ((torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2) - 127.0) / 128.0).requires_grad_(True)
model = Lite0().eval()
cam = GradCAM(model=model, target_layers=[model.top_activation])
cam(input_tensor=x, targets=None)  # warm-up
best = float("inf")
for _ in range(args.repeat):
    t = time.time()
    maps = cam(input_tensor=x, targets=None)
    best = min(best, time.time() - t)
torch_ms = best / len(paths) * 1000
print(f"pytorch-grad-cam: {len(paths)} images in {best:.2f} s = {torch_ms:.1f} ms/image (threads {args.threads}), maps {maps.shape}")

root = os.path.join(os.path.dirname(__file__), "..", "..")
out = subprocess.run(
    [os.path.join(root, "target/release/convkit"), "gradcam", "--model", "efficientnet-lite0", "--threads", str(args.threads),
     "--repeat", str(args.repeat), "--out", "/tmp/convkit-gradcam-bench", *paths],
    capture_output=True, text=True, check=True,
).stdout
line = next(ln for ln in out.splitlines() if ln.startswith("Grad-CAM of"))
print("convkit:", line)
ours = float(re.search(r"([0-9.]+) ms/image", line).group(1))
print(f"ratio pytorch-grad-cam / convkit: {torch_ms / ours:.2f} (above 1: convkit faster)")
if args.json:
    import json

    with open(args.json, "w") as f:
        json.dump({"threads": args.threads, "torch_ms_per_image": torch_ms, "convkit_ms_per_image": ours,
                   "ratio": torch_ms / ours}, f, indent=1)
