"""Per-op reference fixtures from PyTorch: seeded random inputs and parameters, the op's output.

Writes test/fixtures/ops.safetensors: for each case `<case>.input`, parameters `<case>.<param>`
and `<case>.output`; the metadata entry `cases` is a JSON list of {name, op, options}.
Run with the system Python that Debian's python3-torch serves: /usr/bin/python3 tools/reference/ops.py
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_io import save  # noqa: E402

torch.manual_seed(20261128)
torch.set_num_threads(1)
tensors = {}
cases = []


def rnd(*shape, scale=1.0):
    return torch.randn(*shape, dtype=torch.float32) * scale


def case(name, op, options, inputs, params, output):
    cases.append({"name": name, "op": op, "options": options, "inputs": list(inputs), "params": list(params)})
    for k, v in inputs.items():
        tensors[f"{name}.{k}"] = v
    for k, v in params.items():
        tensors[f"{name}.{k}"] = v
    tensors[f"{name}.output"] = output


def conv(name, n, cin, cout, h, w, k, stride=1, padding=(0, 0, 0, 0), groups=1, bias=True):
    x = rnd(n, cin, h, w)
    kh, kw = (k, k) if isinstance(k, int) else k
    wt = rnd(cout, cin // groups, kh, kw, scale=0.3)
    b = rnd(cout) if bias else None
    top, bottom, left, right = padding
    y = F.conv2d(F.pad(x, (left, right, top, bottom)), wt, b, stride=stride, groups=groups)
    params = {"weight": wt}
    if bias:
        params["bias"] = b
    case(name, "conv2d", {"stride": stride, "padding": list(padding), "groups": groups}, {"input": x}, params, y)


conv("conv_odd_3x3", 1, 3, 5, 7, 9, 3, padding=(1, 1, 1, 1))
conv("conv_stride2_pad1_batch2", 2, 4, 6, 11, 8, 3, stride=2, padding=(1, 1, 1, 1))
conv("conv_asymmetric_pad", 1, 3, 4, 6, 7, (3, 2), padding=(1, 2, 0, 1))
conv("conv_7x7_stride2_pad3", 1, 3, 8, 15, 13, 7, stride=2, padding=(3, 3, 3, 3))
conv("conv_depthwise_stride2", 2, 6, 6, 9, 10, 3, stride=2, padding=(0, 1, 0, 1), groups=6)
conv("conv_depthwise_7x7_valid", 1, 5, 5, 7, 7, 7, groups=5)
conv("conv_groups2", 1, 4, 6, 5, 6, 3, padding=(1, 1, 1, 1), groups=2)
conv("conv_1x1_spatial_1x1", 3, 8, 5, 1, 1, 1)
conv("conv_1x1_nobias", 1, 16, 9, 5, 4, 1, bias=False)
conv("conv_many_channels", 1, 37, 19, 6, 5, 3, padding=(1, 1, 1, 1))


def pool(name, op, h, w, k, stride, pad=0, ceil=False, n=1, c=3, count_include_pad=True):
    x = rnd(n, c, h, w)
    if op == "maxPool2d":
        y = F.max_pool2d(x, k, stride, pad, ceil_mode=ceil)
    elif op == "avgPool2d":
        y = F.avg_pool2d(x, k, stride, pad, ceil_mode=ceil, count_include_pad=count_include_pad)
    else:
        # tsface's L2 pool is sqrt(sum of squares in the window). F.lp_pool2d agrees in floor
        # mode but, in ceil mode, rescales a window that hangs over the edge by k*k / cells
        # (it is avg_pool * k*k underneath), so the ceil case sums with divisor_override=1.
        assert pad == 0
        if ceil:
            y = F.avg_pool2d(x * x, k, stride, ceil_mode=True, divisor_override=1).sqrt()
        else:
            y = F.lp_pool2d(x, 2, k, stride)
    opts = {"kernel": k, "stride": stride, "padding": pad, "ceilMode": ceil, "countIncludePad": count_include_pad}
    case(name, op, opts, {"input": x}, {}, y)


pool("max_ceil_overhang_3x3s2", "maxPool2d", 10, 11, 3, 2, ceil=True, n=2)
pool("max_ceil_2x2s2_odd", "maxPool2d", 7, 9, 2, 2, ceil=True)
pool("max_floor_pad1", "maxPool2d", 12, 12, 3, 2, pad=1)
pool("max_1x1_map", "maxPool2d", 1, 1, 1, 1)
pool("avg_ceil_pad1", "avgPool2d", 9, 8, 3, 2, pad=1, ceil=True)
pool("avg_ceil_pad1_exclude", "avgPool2d", 9, 8, 3, 2, pad=1, ceil=True, count_include_pad=False)
pool("avg_3x3s1", "avgPool2d", 3, 3, 3, 1)
pool("l2_3x3s3", "l2Pool2d", 12, 12, 3, 3, n=2)
pool("l2_3x3s3_ragged", "l2Pool2d", 13, 11, 3, 3)
pool("l2_3x3s3_ceil", "l2Pool2d", 13, 11, 3, 3, ceil=True)


def lrn(name, c, size, alpha, beta, k, scale):
    x = rnd(2, c, 4, 3, scale=scale)
    y = F.local_response_norm(x, size, alpha, beta, k)
    case(name, "lrn", {"size": size, "alpha": alpha, "beta": beta, "k": k}, {"input": x}, {}, y)


lrn("lrn_torch7_5", 7, 5, 1e-4, 0.75, 1.0, 30.0)
lrn("lrn_borders_strong", 6, 5, 0.5, 0.75, 2.0, 2.0)
lrn("lrn_window_11", 13, 11, 11e-4, 0.75, 1.0, 20.0)
lrn("lrn_window_wider_than_channels", 3, 5, 0.3, 0.5, 1.0, 1.5)

x = rnd(2, 5, 4, 3)
alpha = rnd(5, scale=0.5)
case("prelu", "prelu", {}, {"input": x}, {"alpha": alpha}, F.prelu(x, alpha))
x = rnd(3, 6)
alpha = rnd(6, scale=0.5)
case("prelu_rank2", "prelu", {}, {"input": x}, {"alpha": alpha}, F.prelu(x, alpha))
x = rnd(2, 3, 4, 5)
case("relu", "relu", {}, {"input": x}, {}, F.relu(x))

# Batch norm (inference) and its folding into the convolution before it.
x = rnd(2, 4, 5, 6)
mean, var, gamma, beta = rnd(4), torch.rand(4) + 0.05, rnd(4), rnd(4)
bn = dict(mean=mean, variance=var, weight=gamma, bias=beta)
case("batchnorm", "batchNorm", {"eps": 1e-5}, {"input": x}, bn, F.batch_norm(x, mean, var, gamma, beta, False, 0.0, 1e-5))
x = rnd(1, 3, 8, 7)
wt, b = rnd(4, 3, 3, 3, scale=0.3), rnd(4)
y = F.batch_norm(F.conv2d(x, wt, b, padding=1), mean, var, gamma, beta, False, 0.0, 1e-3)
case("conv_bn_fold", "convBatchNormFold", {"eps": 1e-3, "padding": 1},
     {"input": x}, {"weight": wt, "bias": b, "bn_mean": mean, "bn_variance": var, "bn_weight": gamma, "bn_bias": beta}, y)

x = rnd(3, 20)
wt, b = rnd(7, 20, scale=0.3), rnd(7)
case("dense", "dense", {}, {"input": x}, {"weight": wt, "bias": b}, F.linear(x, wt, b))
x = rnd(2, 4, 3, 2)
wt, b = rnd(5, 24, scale=0.3), rnd(5)
case("dense_from_nchw", "dense", {}, {"input": x}, {"weight": wt, "bias": b}, F.linear(x.reshape(2, -1), wt, b))

x = rnd(2, 2, 5, 4, scale=4)
case("softmax_channels", "softmax", {}, {"input": x}, {}, F.softmax(x, dim=1))
x = rnd(3, 7, scale=4)
case("softmax_rank2", "softmax", {}, {"input": x}, {}, F.softmax(x, dim=1))
x = rnd(4, 16)
case("l2normalize", "l2Normalize", {}, {"input": x}, {}, F.normalize(x, dim=1, eps=1e-6))
x = rnd(2, 5, 3, 2)
case("l2normalize_nchw", "l2Normalize", {}, {"input": x}, {}, F.normalize(x, dim=1, eps=1e-6))

a, b2, c = rnd(2, 3, 4, 5), rnd(2, 1, 4, 5), rnd(2, 4, 4, 5)
case("concat", "concat", {}, {"input": a, "input1": b2, "input2": c}, {}, torch.cat([a, b2, c], 1))
a, b2 = rnd(2, 3, 4, 5), rnd(2, 3, 4, 5)
case("add", "add", {}, {"input": a, "input1": b2}, {}, a + b2)
x = rnd(1, 2, 2, 3)
case("pad2d", "pad2d", {"padding": [3, 4, 1, 0]}, {"input": x}, {}, F.pad(x, (1, 0, 3, 4)))

out = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "ops.safetensors")
save(out, tensors, {"cases": json.dumps(cases), "generator": "tools/reference/ops.py", "torch": torch.__version__, "seed": "20261128"})
print(f"wrote {len(cases)} cases to {os.path.normpath(out)}")
