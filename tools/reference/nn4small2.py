"""nn4.small2.v1 in plain PyTorch, written from OpenFace's nn4.small2.def.lua and
../shared/docs/nn4small2.md, independent of tsface's builder. Weights: the CSV dump in
../shared/models/openface-nn4.small2.v1/csv, the five missing tensors filled with the same
seeded stand-ins as tsface's converter (32-bit LCG, uniform with variance 1/fan-in, seed 1000+k).

Writes test/fixtures/nn4small2_layers.safetensors for a seeded 2x3x96x96 input: for each named
layer its absolute maximum and 97 samples at (k * 7919 + 13) mod size, and the full embedding.
No weights are written. Run: /usr/bin/python3 tools/reference/nn4small2.py
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_io import save  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
CSV = os.path.join(ROOT, "..", "shared", "models", "openface-nn4.small2.v1", "csv")
torch.set_num_threads(1)
MISSING = ["inception_3c_3x3_conv2_w", "inception_4e_3x3_conv2_w", "inception_5a_3x3_conv2_w", "inception_5a_1x1_conv_w", "inception_5b_3x3_conv2_w"]
SHAPES = {"inception_3c_3x3_conv2_w": (256, 128, 3, 3), "inception_4e_3x3_conv2_w": (256, 160, 3, 3),
          "inception_5a_3x3_conv2_w": (384, 96, 3, 3), "inception_5a_1x1_conv_w": (256, 1024, 1, 1), "inception_5b_3x3_conv2_w": (384, 96, 3, 3)}


def stand_in(shape, seed):
    n = int(np.prod(shape))
    scale = (3.0 / (n / shape[0])) ** 0.5
    out = np.empty(n, dtype=np.float32)
    s = seed & 0xFFFFFFFF
    for i in range(n):
        s = (1664525 * s + 1013904223) & 0xFFFFFFFF
        out[i] = (s / 4294967296 - 0.5) * 2 * scale
    return torch.from_numpy(out.reshape(shape))


def w(name, shape=None):
    if name in MISSING:
        return stand_in(SHAPES[name], 1000 + MISSING.index(name) + 1)
    with open(os.path.join(CSV, name + ".csv")) as f:
        v = np.array([float(t) for t in f.read().replace("\n", ",").split(",") if t.strip()], dtype=np.float64).astype(np.float32)
    t = torch.from_numpy(v)
    return t.reshape(shape) if shape else t


records = {}


def rec(name, x):
    records[name] = x.detach()
    return x


def conv_bn_relu(x, conv, bn, cin, cout, k, stride=1, pad=0):
    x = F.conv2d(x, w(conv + "_w", (cout, cin, k, k)), w(conv + "_b"), stride=stride, padding=pad)
    x = F.batch_norm(x, w(bn + "_m"), w(bn + "_v"), w(bn + "_w"), w(bn + "_b"), False, 0.0, 1e-5)
    return F.relu(x)


def lrn(x):
    return F.local_response_norm(x, 5, 1e-4, 0.75, 1.0)


def l2pool(x):
    return (F.avg_pool2d(x * x, 3, 3) * 9).sqrt()


def depth_concat(parts):
    h = max(p.shape[2] for p in parts)
    out = []
    for p in parts:
        d = h - p.shape[2]
        out.append(F.pad(p, (d // 2, d - d // 2, d // 2, d - d // 2)))
    return torch.cat(out, 1)


def inception(x, name, cin, c1, r3, c3, r5, c5, pool, proj, stride=1):
    n = name
    parts = []
    if c3:
        y = conv_bn_relu(x, f"{n}_3x3_conv1", f"{n}_3x3_bn1", cin, r3, 1)
        parts.append(conv_bn_relu(y, f"{n}_3x3_conv2", f"{n}_3x3_bn2", r3, c3, 3, stride, 1))
    if c5:
        y = conv_bn_relu(x, f"{n}_5x5_conv1", f"{n}_5x5_bn1", cin, r5, 1)
        parts.append(conv_bn_relu(y, f"{n}_5x5_conv2", f"{n}_5x5_bn2", r5, c5, 5, stride, 2))
    y = F.max_pool2d(x, 3, 2) if pool == "max" else l2pool(x)
    if proj:
        y = conv_bn_relu(y, f"{n}_pool_conv", f"{n}_pool_bn", cin, proj, 1)
    parts.append(y)
    if c1:
        parts.append(conv_bn_relu(x, f"{n}_1x1_conv", f"{n}_1x1_bn", cin, c1, 1))
    return rec(name, depth_concat(parts))


def net(x):
    x = rec("conv1", F.conv2d(x, w("conv1_w", (64, 3, 7, 7)), w("conv1_b"), stride=2, padding=3))
    x = rec("bn1", F.batch_norm(x, w("bn1_m"), w("bn1_v"), w("bn1_w"), w("bn1_b"), False, 0.0, 1e-5))
    x = rec("relu1", F.relu(x))
    x = rec("pool1", F.max_pool2d(x, 3, 2, 1))
    x = rec("lrn1", lrn(x))
    x = rec("relu2", conv_bn_relu(x, "conv2", "bn2", 64, 64, 1))
    x = rec("relu3", conv_bn_relu(x, "conv3", "bn3", 64, 192, 3, 1, 1))
    x = rec("lrn2", lrn(x))
    x = rec("pool2", F.max_pool2d(x, 3, 2, 1))
    x = inception(x, "inception_3a", 192, 64, 96, 128, 16, 32, "max", 32)
    x = inception(x, "inception_3b", 256, 64, 96, 128, 32, 64, "l2", 64)
    x = inception(x, "inception_3c", 320, 0, 128, 256, 32, 64, "max", 0, 2)
    x = inception(x, "inception_4a", 640, 256, 96, 192, 32, 64, "l2", 128)
    x = inception(x, "inception_4e", 640, 0, 160, 256, 64, 128, "max", 0, 2)
    x = inception(x, "inception_5a", 1024, 256, 96, 384, 0, 0, "l2", 96)
    x = inception(x, "inception_5b", 736, 256, 96, 384, 0, 0, "max", 96)
    x = rec("avgpool", F.avg_pool2d(x, 3, 1))
    x = rec("dense", F.linear(x.reshape(x.shape[0], -1), w("dense_w", (128, 736)), w("dense_b")))
    return rec("l2norm", F.normalize(x, dim=1, eps=1e-12))


if not os.path.isdir(CSV):
    raise SystemExit(f"{CSV} is absent: this reference needs ../shared")
g = torch.Generator().manual_seed(11)
x = F.interpolate(torch.rand(2, 3, 13, 13, generator=g), size=(96, 96), mode="bilinear", align_corners=False)
with torch.no_grad():
    emb = net(x)
out = {"input": x, "embedding": emb}
names = list(records)
for name in names:
    flat = records[name].reshape(-1).numpy()
    out[f"{name}.absmax"] = np.array([np.abs(flat).max()], dtype=np.float32)
    out[f"{name}.samples"] = flat[[(k * 7919 + 13) % flat.size for k in range(97)]]
path = os.path.join(ROOT, "test", "fixtures", "nn4small2_layers.safetensors")
save(path, out, {"generator": "tools/reference/nn4small2.py", "layers": json.dumps(names), "stand_in_seed": "1000", "torch": torch.__version__})
print(f"wrote {len(names)} layers to {path} ({os.path.getsize(path)} bytes)")
