"""Per-op backward reference fixtures from torch.autograd: seeded inputs, a seeded upstream
gradient dy, and the gradients autograd gives for every input and parameter.

Writes test/fixtures/backward_ops.safetensors: for each case its tensors `<case>.<key>` (inputs
such as x, weight, dy, the forward output y where the backward op takes it, and the expected
gradients dx, dweight, dbias...); the metadata entry `cases` is a JSON list of
{name, op, options, inputs, grads}. test/helpers/backwardCases.ts runs them.
Run with the system Python that Debian's python3-torch serves: /usr/bin/python3 tools/reference/backward_ops.py
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_io import save  # noqa: E402

torch.manual_seed(20270214)
torch.set_num_threads(1)
tensors = {}
cases = []


def rnd(*shape, scale=1.0):
    return torch.randn(*shape, dtype=torch.float32) * scale


def leaf(t):
    return t.detach().clone().requires_grad_(True)


def case(name, op, options, inputs, grads):
    """inputs: tensors the backward op is given; grads: what it must give back (expected)."""
    cases.append({"name": name, "op": op, "options": options, "inputs": list(inputs), "grads": list(grads)})
    for k, v in {**inputs, **grads}.items():
        assert f"{name}.{k}" not in tensors, f"{name}.{k} twice"
        tensors[f"{name}.{k}"] = v.detach()


def backward(y, dy, *leaves):
    return torch.autograd.grad(y, leaves, dy)


def conv(name, n, cin, cout, h, w, k, stride=1, padding=(0, 0, 0, 0), groups=1):
    x, wt, b = leaf(rnd(n, cin, h, w)), leaf(rnd(cout, cin // groups, *((k, k) if isinstance(k, int) else k), scale=0.3)), leaf(rnd(cout))
    top, bottom, left, right = padding
    y = F.conv2d(F.pad(x, (left, right, top, bottom)), wt, b, stride=stride, groups=groups)
    dy = rnd(*y.shape)
    dx, dw, db = backward(y, dy, x, wt, b)
    case(name, "conv2d", {"stride": stride, "padding": list(padding), "groups": groups},
         {"x": x, "weight": wt, "dy": dy}, {"dx": dx, "dweight": dw, "dbias": db})


conv("conv_3x3_s1_pad1", 2, 4, 6, 7, 8, 3, padding=(1, 1, 1, 1))
conv("conv_3x3_s2_pad1", 2, 3, 5, 9, 10, 3, stride=2, padding=(1, 1, 1, 1))
# MobileFaceNet's TF-SAME stride-2 convs: one extra row and column at the bottom and right.
conv("conv_3x3_s2_same", 2, 4, 6, 8, 8, 3, stride=2, padding=(0, 1, 0, 1))
# Stride 2 without padding on an even map: the last row and column reach no window (dx 0 there).
conv("conv_3x3_s2_valid_ragged", 1, 3, 4, 8, 9, 3, stride=2)
conv("conv_asymmetric_kernel_pad", 1, 3, 4, 6, 7, (3, 2), padding=(1, 2, 0, 1))
conv("conv_groups2", 2, 4, 6, 5, 6, 3, padding=(1, 1, 1, 1), groups=2)
conv("conv_depthwise_3x3_s1", 2, 6, 6, 7, 9, 3, padding=(1, 1, 1, 1), groups=6)
conv("conv_depthwise_3x3_s2_same", 2, 5, 5, 10, 9, 3, stride=2, padding=(0, 1, 0, 1), groups=5)
conv("conv_1x1", 3, 16, 9, 5, 4, 1)
conv("conv_1x1_s2", 1, 6, 5, 7, 6, 1, stride=2)
# MobileFaceNet's GDConv: a 7x7 depthwise conv over the whole 7x7 map.
conv("conv_depthwise_7x7_valid", 2, 8, 8, 7, 7, 7, groups=8)
conv("conv_5x5_pad2", 1, 5, 7, 9, 8, 5, padding=(2, 2, 2, 2))
# nn4.small2's stem.
conv("conv_7x7_s2_pad3", 2, 3, 8, 15, 13, 7, stride=2, padding=(3, 3, 3, 3))
conv("conv_many_channels", 1, 37, 19, 6, 5, 3, padding=(1, 1, 1, 1))

x = leaf(rnd(2, 3, 4, 5))
y = F.relu(x)
dy = rnd(*y.shape)
case("relu", "relu", {}, {"y": y, "dy": dy}, {"dx": backward(y, dy, x)[0]})

for name, shape in (("prelu", (2, 5, 4, 3)), ("prelu_rank2", (3, 6))):
    x, alpha = leaf(rnd(*shape)), leaf(rnd(shape[1], scale=0.5))
    y = F.prelu(x, alpha)
    dy = rnd(*y.shape)
    dx, da = backward(y, dy, x, alpha)
    case(name, "prelu", {}, {"x": x, "alpha": alpha, "dy": dy}, {"dx": dx, "dalpha": da})


def pool(name, op, shape, k, stride, pad=0, ceil=False, count_include_pad=True, ties=False):
    values = rnd(*shape)
    if ties:
        # Quarter steps in [-1, 1]: most windows hold their maximum more than once, and torch
        # routes the gradient to the first in row-major order.
        values = (values * 2).round().clamp(-4, 4) / 4
    elif op == "l2Pool2d":
        # Away from zero, so no window sums to 0 (where the gradient is defined as 0).
        values = values.sign() * (values.abs() + 0.25)
    x = leaf(values)
    if op == "maxPool2d":
        y = F.max_pool2d(x, k, stride, pad, ceil_mode=ceil)
    elif op == "avgPool2d":
        y = F.avg_pool2d(x, k, stride, pad, ceil_mode=ceil, count_include_pad=count_include_pad)
    else:
        # tsface's L2 pool: sqrt of the sum of squares over the window, padded cells counting 0,
        # in any mode (F.lp_pool2d would rescale a ceil-mode window that hangs over the edge).
        y = F.avg_pool2d(x * x, k, stride, pad, ceil_mode=ceil, divisor_override=1).sqrt()
    dy = rnd(*y.shape)
    opts = {"kernel": k, "stride": stride, "padding": pad, "ceilMode": ceil, "countIncludePad": count_include_pad}
    if op == "avgPool2d":
        opts["inputShape"] = list(shape)
    inputs = {"x": x, "dy": dy} if op == "maxPool2d" else {"dy": dy} if op == "avgPool2d" else {"x": x, "y": y, "dy": dy}
    case(name, op, opts, inputs, {"dx": backward(y, dy, x)[0]})


pool("max_3x3s2_ceil", "maxPool2d", (2, 3, 10, 11), 3, 2, ceil=True)
pool("max_3x3s2_pad1", "maxPool2d", (1, 3, 12, 12), 3, 2, pad=1)
pool("max_2x2s2_ceil_odd", "maxPool2d", (1, 2, 7, 9), 2, 2, ceil=True)
pool("max_3x3s1_pad1_ties", "maxPool2d", (2, 3, 8, 7), 3, 1, pad=1, ties=True)
pool("max_3x3s2_ceil_ties", "maxPool2d", (1, 4, 11, 10), 3, 2, ceil=True, ties=True)
pool("avg_3x3s2_pad1_ceil", "avgPool2d", (1, 3, 9, 8), 3, 2, pad=1, ceil=True)
pool("avg_3x3s2_pad1_ceil_exclude", "avgPool2d", (1, 3, 9, 8), 3, 2, pad=1, ceil=True, count_include_pad=False)
pool("avg_3x3s1_pad1", "avgPool2d", (2, 2, 6, 5), 3, 1, pad=1)
pool("avg_3x3s1", "avgPool2d", (1, 2, 3, 3), 3, 1)
pool("l2_3x3s3", "l2Pool2d", (2, 3, 12, 12), 3, 3)
pool("l2_3x3s2_pad1", "l2Pool2d", (1, 3, 9, 10), 3, 2, pad=1)
pool("l2_3x3s1_pad1", "l2Pool2d", (1, 2, 6, 6), 3, 1, pad=1)
pool("l2_3x3s3_ceil", "l2Pool2d", (1, 3, 13, 11), 3, 3, ceil=True)


def lrn(name, c, size, alpha, beta, k, scale):
    x = leaf(rnd(2, c, 4, 3, scale=scale))
    y = F.local_response_norm(x, size, alpha, beta, k)
    dy = rnd(*y.shape)
    case(name, "lrn", {"size": size, "alpha": alpha, "beta": beta, "k": k}, {"x": x, "y": y, "dy": dy}, {"dx": backward(y, dy, x)[0]})


lrn("lrn_torch7_5", 7, 5, 1e-4, 0.75, 1.0, 30.0)
lrn("lrn_borders_strong", 6, 5, 0.5, 0.75, 2.0, 2.0)
lrn("lrn_even_size", 6, 4, 0.4, 0.6, 1.0, 1.5)
lrn("lrn_window_wider_than_channels", 3, 5, 0.3, 0.5, 1.0, 1.5)


def batchnorm(name, shape, training, eps=1e-5):
    c = shape[1]
    x, gamma, beta = leaf(rnd(*shape, scale=2.0) + 0.5), leaf(rnd(c)), leaf(rnd(c))
    if training:
        mean, var = x.mean(dim=[d for d in range(len(shape)) if d != 1]), x.var(dim=[d for d in range(len(shape)) if d != 1], unbiased=False)
        y = F.batch_norm(x, None, None, gamma, beta, True, 0.0, eps)
    else:
        mean, var = rnd(c), torch.rand(c) + 0.05
        y = F.batch_norm(x, mean, var, gamma, beta, False, 0.0, eps)
    dy = rnd(*y.shape)
    dx, dg, db = backward(y, dy, x, gamma, beta)
    inputs = {"x": x, "gamma": gamma, "dy": dy}
    grads = {"dx": dx, "dgamma": dg, "dbeta": db}
    # Training mode: the batch statistics are what batchStats must give (and the backward uses).
    (grads if training else inputs).update({"mean": mean, "variance": var})
    case(name, "batchNorm", {"eps": eps, "training": training}, inputs, grads)


batchnorm("batchnorm_train", (4, 3, 5, 6), True)
batchnorm("batchnorm_train_rank2", (6, 5), True, eps=1e-3)
batchnorm("batchnorm_eval", (2, 4, 5, 6), False)

for name, shape, out in (("dense", (3, 20), 7), ("dense_from_nchw", (2, 4, 3, 2), 5)):
    x = leaf(rnd(*shape))
    f = x[0].numel()
    wt, b = leaf(rnd(out, f, scale=0.3)), leaf(rnd(out))
    y = F.linear(x.reshape(shape[0], f), wt, b)
    dy = rnd(*y.shape)
    dx, dw, db = backward(y, dy, x, wt, b)
    # The backward op gives dx as [N, F]; the layer reshapes it to its input's shape.
    case(name, "dense", {}, {"x": x, "weight": wt, "dy": dy}, {"dx": dx.reshape(shape[0], f), "dweight": dw, "dbias": db})

for name, shape in (("softmax_channels", (2, 3, 5, 4)), ("softmax_rows", (3, 7))):
    x = leaf(rnd(*shape, scale=3))
    y = F.softmax(x, dim=1)
    dy = rnd(*y.shape)
    case(name, "softmax", {}, {"y": y, "dy": dy}, {"dx": backward(y, dy, x)[0]})


def l2normalize(name, values, eps):
    """eps bounds the norm in torch, the sum of squares in tsface (eps^2)."""
    x = leaf(values)
    y = F.normalize(x, dim=1, eps=eps)
    dy = rnd(*y.shape)
    case(name, "l2Normalize", {"eps": eps * eps}, {"x": x, "y": y, "dy": dy}, {"dx": backward(y, dy, x)[0]})


l2normalize("l2normalize_rows", rnd(4, 16), 1e-6)
l2normalize("l2normalize_nchw", rnd(2, 5, 3, 2), 1e-6)
# Norms below eps: the clamp holds the divisor, so dx = dy / eps.
l2normalize("l2normalize_below_eps", rnd(3, 6) * 1e-3, 1e-2)

parts = [leaf(rnd(2, c, 4, 3)) for c in (3, 1, 4)]
y = torch.cat(parts, 1)
dy = rnd(*y.shape)
grads = backward(y, dy, *parts)
case("concat", "concat", {"channels": [3, 1, 4]}, {"dy": dy}, {f"dx{i}": g for i, g in enumerate(grads)})
parts = [leaf(rnd(3, c)) for c in (2, 5)]
y = torch.cat(parts, 1)
dy = rnd(*y.shape)
grads = backward(y, dy, *parts)
case("concat_rows", "concat", {"channels": [2, 5]}, {"dy": dy}, {f"dx{i}": g for i, g in enumerate(grads)})

x = leaf(rnd(2, 3, 4, 5))
y = F.pad(x, (1, 0, 3, 2))
dy = rnd(*y.shape)
case("pad2d", "pad2d", {"padding": [3, 2, 1, 0]}, {"dy": dy}, {"dx": backward(y, dy, x)[0]})

for name, shape in (("sum_channels_nchw", (3, 4, 5, 6)), ("sum_channels_rows", (5, 7))):
    x = leaf(rnd(*shape))
    b = leaf(torch.zeros(shape[1]))
    y = x + b.reshape(1, -1, *([1] * (len(shape) - 2)))
    dy = rnd(*y.shape)
    case(name, "sumChannels", {}, {"dy": dy}, {"dbias": backward(y, dy, b)[0]})

out = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "backward_ops.safetensors")
save(out, tensors, {"cases": json.dumps(cases), "generator": "tools/reference/backward_ops.py", "torch": torch.__version__, "seed": "20270214"})
print(f"wrote {len(cases)} cases ({os.path.getsize(out)} bytes) to {os.path.normpath(out)}")
