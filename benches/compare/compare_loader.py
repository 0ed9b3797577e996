"""Images per second of the full loading pipeline, convkit against its Python peers, on the
same JPEG folder, machine and run; and per-transform speed against albumentations.

    .venv/bin/python benches/compare/compare_loader.py /tmp/jpeg2000 --threads 2 --epochs 3

Pipeline for every loader: decode JPEG, resize to SIZE x SIZE, the book's augmentation
(rotation 40, width/height shift 0.2, shear 0.2, zoom 0.2, horizontal flip), float batches of
BATCH scaled to [0, 1]. Epoch 1 is a warm-up (and fills convkit's decoded-image cache when
--cache is given); the figure is the mean images/s of the later epochs.

- torchvision: ImageFolder + transforms v2 (Resize, RandomAffine, RandomHorizontalFlip,
  ToDtype) + DataLoader, num_workers 0 and 2, torch.set_num_threads(THREADS); and with 2
  workers opening each JPEG with PIL's draft() (libjpeg's reduced-scale IDCT to the smallest
  scale at least SIZE x SIZE), its fastest decoding, against convkit's --dct-scaling (the same
  rule; both leave Keras' load_img pixels).
- Keras 3: legacy ImageDataGenerator(...).flow_from_directory(...), one thread, and THREADS
  threads fetching different batches of the same iterator (its __getitem__ is thread-safe).
- albumentations (with OpenCV, cv2.setNumThreads(1)): microseconds per 150x150 image for
  flip, affine, blur, contrast, noise, multiply, against `convkit bench transforms`.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

os.environ.setdefault("KERAS_BACKEND", "torch")


def draft_loader(size):
    """PIL's loader with draft(): the JPEG decoded at 1/2, 1/4 or 1/8 scale while both sides
    stay >= size."""
    from PIL import Image

    def load(path):
        with open(path, "rb") as f:
            img = Image.open(f)
            img.draft("RGB", (size, size))
            return img.convert("RGB")

    return load


def torchvision_rate(d, size, batch, workers, threads, epochs, draft=False):
    import torch
    from torchvision import datasets
    from torchvision.transforms import v2

    torch.set_num_threads(threads)
    tf = v2.Compose([
        v2.PILToTensor(),
        v2.Resize((size, size), antialias=True),
        v2.RandomAffine(degrees=40, translate=(0.2, 0.2), shear=11.46, scale=(0.8, 1.2)),
        v2.RandomHorizontalFlip(),
        v2.ToDtype(torch.float32, scale=True),
    ])
    ds = (datasets.ImageFolder(d, transform=tf, loader=draft_loader(size)) if draft
          else datasets.ImageFolder(d, transform=tf))
    dl = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, num_workers=workers,
                                     persistent_workers=workers > 0)
    rates = []
    for _ in range(epochs):
        t = time.perf_counter()
        n = sum(x.shape[0] for x, _ in dl)
        rates.append(n / (time.perf_counter() - t))
    return rates


def keras_rate(d, size, batch, threads, epochs):
    from keras.src.legacy.preprocessing.image import ImageDataGenerator

    gen = ImageDataGenerator(rescale=1.0 / 255, rotation_range=40, width_shift_range=0.2,
                             height_shift_range=0.2, shear_range=0.2, zoom_range=0.2,
                             horizontal_flip=True)
    it = gen.flow_from_directory(d, target_size=(size, size), batch_size=batch,
                                 class_mode="binary", seed=0)
    rates = []
    for _ in range(epochs):
        t = time.perf_counter()
        if threads <= 1:
            n = sum(it[i][0].shape[0] for i in range(len(it)))
        else:
            with ThreadPoolExecutor(threads) as ex:
                n = sum(x[0].shape[0] for x in ex.map(lambda i: it[i], range(len(it))))
        rates.append(n / (time.perf_counter() - t))
        it.on_epoch_end()
    return rates


def albumentations_us(d, size, n_images, iters):
    import albumentations as A
    import cv2
    import numpy as np
    from PIL import Image

    cv2.setNumThreads(1)
    files = []
    for root, _, fs in os.walk(d):
        files += [os.path.join(root, f) for f in sorted(fs) if f.lower().endswith(".jpg")]
    imgs = [np.asarray(Image.open(f).convert("RGB").resize((size, size))) for f in sorted(files)[:n_images]]
    cases = {
        "flip": A.HorizontalFlip(p=1.0),
        "affine": A.Affine(rotate=(-40, 40), shear=(-20, 20), scale=(0.8, 1.2),
                           translate_percent=(-0.2, 0.2), interpolation=cv2.INTER_LINEAR, p=1.0),
        "blur": A.GaussianBlur(blur_limit=0, sigma_limit=(0.0, 3.0), p=1.0),
        "contrast": A.RandomBrightnessContrast(brightness_limit=0, contrast_limit=(-0.25, 0.5), p=1.0),
        "noise": A.GaussNoise(std_range=(0.0, 0.05), per_channel=True, p=1.0),
        "multiply": A.MultiplicativeNoise(multiplier=(0.8, 1.2), per_channel=True, elementwise=False, p=1.0),
    }
    out = {}
    for name, t in cases.items():
        for img in imgs[:20]:
            t(image=img)
        start = time.perf_counter()
        for i in range(iters):
            t(image=imgs[i % len(imgs)])
        out[name] = (time.perf_counter() - start) * 1e6 / iters
    return out


def convkit_json(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, check=True)
        return json.loads(r.stdout.strip().splitlines()[-1])
    except Exception as e:  # binary missing or failed
        print(f"convkit: n/a ({e})", file=sys.stderr)
        return None


def steady(rates):
    return sum(rates[1:]) / len(rates[1:]) if len(rates) > 1 else rates[0]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--size", type=int, default=150)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--iters", type=int, default=500, help="images per transform")
    p.add_argument("--convkit", default="target/release/convkit")
    p.add_argument("--cache", default="memory", help="convkit's decoded cache for the cached figure")
    p.add_argument("--skip", default="", help="comma list of: torchvision,keras,albumentations")
    p.add_argument("--json", help="write all numbers here")
    a = p.parse_args()
    skip = set(a.skip.split(","))
    res = {"threads": a.threads, "batch_size": a.batch_size, "size": a.size, "epochs": a.epochs}

    ck = [a.convkit, "bench", "loader", a.dir, "--size", str(a.size), "--batch-size",
          str(a.batch_size), "--epochs", str(a.epochs), "--threads", str(a.threads)]
    res["convkit"] = convkit_json(ck + ["--cache", "none"])
    res["convkit_cached"] = convkit_json(ck + ["--cache", a.cache])
    res["convkit_dct_scaling"] = convkit_json(ck + ["--cache", "none", "--dct-scaling"])
    if "torchvision" not in skip:
        res["torchvision_0_workers"] = steady(torchvision_rate(a.dir, a.size, a.batch_size, 0, a.threads, a.epochs))
        res["torchvision_2_workers"] = steady(torchvision_rate(a.dir, a.size, a.batch_size, 2, 1, a.epochs))
        res["torchvision_2_workers_draft"] = steady(
            torchvision_rate(a.dir, a.size, a.batch_size, 2, 1, a.epochs, draft=True))
    if "keras" not in skip:
        res["keras_1_thread"] = steady(keras_rate(a.dir, a.size, a.batch_size, 1, min(a.epochs, 2)))
        res["keras_threads"] = steady(keras_rate(a.dir, a.size, a.batch_size, a.threads, min(a.epochs, 2)))
    if "albumentations" not in skip:
        res["albumentations_us"] = albumentations_us(a.dir, a.size, 200, a.iters)
        res["convkit_us"] = convkit_json([a.convkit, "bench", "transforms", "--size", str(a.size),
                                          "--iters", str(a.iters), "--dir", a.dir, "--threads", "1"])

    print(f"\nimages/s, {a.size}x{a.size}, batch {a.batch_size}, book augmentation (mean of epochs 2..{a.epochs}):")
    ours = res["convkit"]["images_per_sec"] if res["convkit"] else float("nan")
    ours_c = res["convkit_cached"]["images_per_sec"] if res["convkit_cached"] else float("nan")
    ours_d = res["convkit_dct_scaling"]["images_per_sec"] if res["convkit_dct_scaling"] else float("nan")
    rows = [("convkit, decode every epoch", ours), (f"convkit, {a.cache} cache of decoded images", ours_c),
            ("convkit, --dct-scaling", ours_d)]
    for k in ["torchvision_0_workers", "torchvision_2_workers", "torchvision_2_workers_draft",
              "keras_1_thread", "keras_threads"]:
        if k in res:
            rows.append((k, res[k]))
    for name, v in rows:
        print(f"  {name:<42} {v:9.0f}")
    for peer in ["torchvision_2_workers", "keras_threads", "keras_1_thread"]:
        if peer in res:
            print(f"  ratio convkit / {peer:<22} {ours / res[peer]:6.2f}  (cached: {ours_c / res[peer]:6.2f})")
    if "torchvision_2_workers_draft" in res:
        print(f"  ratio convkit --dct-scaling / torchvision draft() {ours_d / res['torchvision_2_workers_draft']:6.2f}")
    if "albumentations_us" in res and res.get("convkit_us"):
        print("\nus per 150x150 image, one thread (ratio > 1: convkit faster):")
        for k, v in res["albumentations_us"].items():
            c = res["convkit_us"].get(k, float("nan"))
            print(f"  {k:<10} albumentations {v:8.1f}   convkit {c:8.1f}   ratio {v / c:5.2f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
