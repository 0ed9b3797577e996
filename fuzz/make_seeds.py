"""Writes the seed inputs of each fuzz target into fuzz/seeds/<target>/ (stdlib only, but
for the Keras seeds, which ``make_keras_seeds.py`` writes with Keras).

Run by scripts/fuzz before fuzzing; the seeds are small valid (and a few broken) files of
each format, so that libFuzzer starts from the shapes the parsers expect.
"""

import gzip
import json
import shutil
import struct
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "fuzz" / "seeds"


def write(target: str, name: str, data: bytes) -> None:
    d = SEEDS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def idx(dims, data: bytes) -> bytes:
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + data


def png(width: int, height: int, rgb: bool) -> bytes:
    channels = 3 if rgb else 1
    raw = b"".join(b"\x00" + bytes((x * 7 + y * 3) % 256 for x in range(width * channels)) for y in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2 if rgb else 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def safetensors(tensors) -> bytes:
    header, data = {}, b""
    for name, shape, values in tensors:
        body = struct.pack(f"<{len(values)}f", *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + len(body)]}
        data += body
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def main() -> None:
    shutil.rmtree(SEEDS, ignore_errors=True)
    # IDX: images and labels, raw and gzipped, and a cut file.
    images = idx([2, 28, 28], bytes(range(256)) * 6 + bytes(32))
    write("idx", "images", images)
    write("idx", "labels", idx([5], bytes([1, 2, 3, 4, 5])))
    write("idx", "images.gz", gzip.compress(images))
    write("idx", "cut", images[:100])
    # .pth: the reader's fixtures, written by torch (scripts/fixtures/make_pth_fixtures.py).
    for p in sorted((ROOT / "tensor/tests/fixtures/pth").glob("*.pth")):
        if p.stat().st_size <= 64 << 10:
            write("pth", p.name, p.read_bytes())
    # safetensors: the weights of a small dense layer, and a header only.
    write("safetensors", "dense", safetensors([("dense/kernel", [4, 2], [0.5] * 8), ("dense/bias", [2], [0.0, 1.0])]))
    write("safetensors", "empty", safetensors([]))
    # model.json: the architectures the fixtures hold.
    for p in sorted((ROOT / "fuzz/seed_models").glob("*.json")):
        write("model_json", p.name, p.read_bytes())
    # Images: PNG gray and RGB, a cut PNG, the fixtures' JPEGs.
    write("image", "gray.png", png(8, 8, False))
    write("image", "rgb.png", png(5, 3, True))
    write("image", "cut.png", png(16, 16, True)[:60])
    for p in sorted(ROOT.glob("*/tests/fixtures/**/*.jpg"))[:4]:
        if p.stat().st_size <= 64 << 10:
            write("image", p.name, p.read_bytes())
    # Keras' HDF5 weights and .keras archives: written by Keras itself (this Python is the
    # project venv's, which has Keras and h5py).
    import os
    import subprocess

    subprocess.run([sys.executable, str(ROOT / "fuzz" / "make_keras_seeds.py")], check=True,
                   env={**os.environ, "KERAS_BACKEND": "torch"})
    counts = {d.name: len(list(d.iterdir())) for d in sorted(SEEDS.iterdir())}
    print("seeds:", counts, file=sys.stderr)


if __name__ == "__main__":
    main()
