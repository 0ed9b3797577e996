"""Train the book's MNIST convnet in Keras 3 (torch backend) from convkit's initial weights,
without shuffling, to compare training trajectories with `convkit mnist --no-shuffle`.

    target/release/convkit mnist --epochs 0 --out /tmp/init            # convkit's initial weights (seed 1337)
    target/release/convkit mnist --no-shuffle --out /tmp/convkit        # convkit, fixed order
    .venv/bin/python benches/compare/same_init_keras.py /tmp/init/model.safetensors [--epochs 5]

Kernels are transposed from convkit's (out, in, kh, kw) to Keras' (kh, kw, in, out), and the
first Dense kernel's rows are reordered from convkit's (C, H, W) flattening to Keras' (H, W, C).
The script prints the test loss/accuracy of the initial weights (equal to convkit's
`--epochs 0` metrics when the transfer is right), the per-epoch training logs and the final
test loss/accuracy.
"""

import argparse
import os
import sys

os.environ["KERAS_BACKEND"] = "torch"
sys.path.insert(0, os.path.dirname(__file__))

import numpy as np  # noqa: E402
from safetensors.numpy import load_file  # noqa: E402

from compare_mnist import keras_book_convnet, keras_mnist  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("weights")
    ap.add_argument("--epochs", type=int, default=5)
    args = ap.parse_args()
    w = load_file(args.weights)
    x, y = keras_mnist("train")
    tx, ty = keras_mnist("test")
    model = keras_book_convnet()
    conv = lambda k: np.transpose(k, (2, 3, 1, 0))
    dense = w["dense/kernel"].reshape(64, 3, 3, 64).transpose(1, 2, 0, 3).reshape(576, 64)
    model.set_weights([
        conv(w["conv2d/kernel"]), w["conv2d/bias"], conv(w["conv2d_1/kernel"]), w["conv2d_1/bias"],
        conv(w["conv2d_2/kernel"]), w["conv2d_2/bias"], dense, w["dense/bias"], w["dense_1/kernel"], w["dense_1/bias"],
    ])
    print("initial test [loss, accuracy]:", model.evaluate(tx, ty, verbose=0))
    model.fit(x, y, epochs=args.epochs, batch_size=64, verbose=2, shuffle=False)
    print("final test [loss, accuracy]:", model.evaluate(tx, ty, verbose=0))


if __name__ == "__main__":
    main()
