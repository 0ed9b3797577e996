"""Builds a benchmark folder of JPEG photos from the real images shipped with scikit-image.

    .venv/bin/python benches/compare/make_jpeg_folder.py /tmp/jpeg2000 --count 2000

Writes OUT/<class>/<class>.<i>.jpg (or OUT/<class>.<i>.jpg with --flat), COUNT files split
evenly over the classes, each about 420x390 pixels (360-480 wide, 330-450 high): random crops
of skimage.data's photos (chelsea, coffee, astronaut, rocket, motorcycle...), rescaled,
sometimes mirrored, colour-jittered, saved by PIL as baseline 4:2:0 JPEG at quality 90.
Deterministic for a given --seed.
"""
import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance
from skimage import data

PHOTOS = ["chelsea", "coffee", "astronaut", "rocket", "motorcycle_left", "motorcycle_right",
          "immunohistochemistry", "hubble_deep_field", "retina", "colorwheel", "brick",
          "grass", "gravel", "camera", "coins", "moon", "page", "text"]


def load_photos():
    out = []
    for name in PHOTOS:
        fn = getattr(data, name, None)
        if fn is None:
            continue
        try:
            a = fn()
        except Exception:  # some images need a download; skip them
            continue
        if a.ndim == 2:
            a = np.stack([a] * 3, -1)
        out.append(Image.fromarray(a[..., :3].astype(np.uint8), "RGB"))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out")
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--classes", default="cat,dog")
    p.add_argument("--flat", action="store_true", help="Kaggle flat layout OUT/<class>.<i>.jpg")
    args = p.parse_args()
    rng = np.random.default_rng(args.seed)
    photos = load_photos()
    classes = args.classes.split(",")
    out = Path(args.out)
    total = 0
    for i in range(args.count):
        cls = classes[i % len(classes)]
        idx = i // len(classes)
        src = photos[rng.integers(len(photos))]
        w, h = int(rng.integers(360, 481)), int(rng.integers(330, 451))
        scale = rng.uniform(0.6, 1.6)
        cw = min(src.width, max(32, int(w / scale)))
        ch = min(src.height, max(32, int(h / scale)))
        x0 = int(rng.integers(0, src.width - cw + 1))
        y0 = int(rng.integers(0, src.height - ch + 1))
        img = src.crop((x0, y0, x0 + cw, y0 + ch)).resize((w, h), Image.BILINEAR)
        if rng.random() < 0.5:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        img = ImageEnhance.Color(img).enhance(rng.uniform(0.6, 1.4))
        img = ImageEnhance.Brightness(img).enhance(rng.uniform(0.8, 1.2))
        path = out / f"{cls}.{idx}.jpg" if args.flat else out / cls / f"{cls}.{idx}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        img.save(path, "JPEG", quality=90, subsampling=2, progressive=False)
        total += path.stat().st_size
    print(f"wrote {args.count} JPEGs, {total / 1e6:.1f} MB, into {out}")


if __name__ == "__main__":
    main()
