"""Writes the seeds of the Keras fuzz targets into fuzz/seeds/{keras_h5,keras_archive}/
(run by make_seeds.py with the project venv's Python: Keras 3.15.1, ``KERAS_BACKEND=torch``,
h5py).

- keras_h5: the weights of the fuzz targets' small network (Conv2D(2, 3) on 1x8x8 named
  ``conv2d``, ``flatten``, Dense(3) ``dense``; ``convkit_fuzzing::small_network``) in Keras'
  legacy layout (``legacy_h5_format.save_weights_to_hdf5_group``, as Keras 2's
  ``save_weights``) and in Keras 3's ``.weights.h5``, each also cut in half;
- keras_archive: that network compiled with RMSprop and trained one step, saved as
  ``.keras``; a functional one with two branches, Concatenate and Add, uncompiled; a cut
  archive.
"""
import os
import sys
import tempfile
from pathlib import Path

os.environ["KERAS_BACKEND"] = "torch"

import h5py  # noqa: E402
import numpy as np  # noqa: E402

import keras  # noqa: E402
from keras.src.legacy.saving import legacy_h5_format  # noqa: E402

SEEDS = Path(__file__).resolve().parent / "seeds"


def write(target, name, data):
    d = SEEDS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def small_network():
    L = keras.layers
    return keras.Sequential([keras.Input((8, 8, 1)), L.Conv2D(2, 3, name="conv2d"),
                             L.Flatten(name="flatten"), L.Dense(3, name="dense")])


def branches():
    L = keras.layers
    x = keras.Input((6, 6, 3), name="image")
    a = L.Conv2D(4, 3, padding="same", activation="relu")(x)
    b = L.DepthwiseConv2D(3, padding="same")(x)
    b = L.BatchNormalization()(b)
    c = L.Concatenate()([a, b])
    c = L.Conv2D(3, 1)(c)
    y = L.Add()([c, x])
    y = L.GlobalAveragePooling2D()(y)
    return keras.Model(x, L.Dense(2, activation="softmax")(y), name="branches")


def main():
    keras.utils.set_random_seed(0)
    tmp = Path(tempfile.mkdtemp())
    model = small_network()
    legacy = tmp / "legacy.h5"
    with h5py.File(legacy, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    keras3 = tmp / "small.weights.h5"
    model.save_weights(keras3)
    for name, path in [("legacy.h5", legacy), ("keras3.weights.h5", keras3)]:
        data = path.read_bytes()
        write("keras_h5", name, data)
        write("keras_h5", "cut-" + name, data[: len(data) // 2])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    x = np.random.default_rng(0).uniform(size=(4, 8, 8, 1)).astype("float32")
    model.fit(x, np.array([0, 1, 2, 0]), batch_size=4, epochs=1, verbose=0)
    model.save(tmp / "small.keras")
    branches().save(tmp / "branches.keras")
    for name in ["small.keras", "branches.keras"]:
        write("keras_archive", name, (tmp / name).read_bytes())
    data = (tmp / "small.keras").read_bytes()
    write("keras_archive", "cut-small.keras", data[: len(data) // 2])
    print("keras seeds:", sorted(p.name for p in SEEDS.glob("keras_*/*")), file=sys.stderr)


if __name__ == "__main__":
    main()
