"""Training references for tsface, torch on the CPU (1 thread, float32). Two jobs, each reading a
request safetensors file that the test writes and writing a result file the test reads:

  optim REQUEST RESULT   torch.optim's SGD / Adam / AdamW over seeded parameters and gradients,
                         clip_grad_norm_, StepLR and LinearLR + CosineAnnealingLR learning rates.
  nets REQUEST RESULT [MASKS]
                         MobileFaceNet (bundled weights) and nn4.small2 (the request's seeded
                         weights, batch norm in training mode), built here from the architecture
                         tables, not from tsface's builders: triplet-loss gradients of every
                         parameter for the request's batch and triplets, the weights after one
                         SGD and one Adam step, and a short run's loss curve. MASKS (optional):
                         which side of its kink each ReLU/PReLU input fell on in tsface's passes
                         (test/helpers/kinks.ts); torch then runs those activations as the masked
                         linear maps on that branch (see Kinks).

Tensor names are tsface's (`<net>.<layer path with dots>.<param>`), so results compare by name.
Run by test/optimizers.test.ts and test/train-step-reference.test.ts.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_io import save  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
torch.set_num_threads(1)


def load(path):
    """Reads an F32 safetensors file: (tensors by name, metadata)."""
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    out = {}
    for name, h in header.items():
        assert h["dtype"] == "F32", name
        a, b = h["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f4").copy().reshape(h["shape"]))
    return out, meta


# ---------------------------------------------------------------- optimisers

def optim_job(req, meta):
    names = json.loads(meta["params"])
    steps = int(meta["steps"])
    configs = json.loads(meta["configs"])
    out = {}
    for key, cfg in configs.items():
        params = [req[f"init.{n}"].clone().requires_grad_(True) for n in names]
        kind = cfg.pop("kind")
        if kind == "sgd":
            opt = torch.optim.SGD(params, lr=cfg["lr"], momentum=cfg.get("momentum", 0), weight_decay=cfg.get("weightDecay", 0), nesterov=cfg.get("nesterov", False))
        elif kind == "adam":
            opt = torch.optim.Adam(params, lr=cfg["lr"], weight_decay=cfg.get("weightDecay", 0))
        else:
            opt = torch.optim.AdamW(params, lr=cfg["lr"], weight_decay=cfg.get("weightDecay", 0.01))
        for k in range(steps):
            for n, p in zip(names, params):
                p.grad = req[f"grad.{n}.{k}"].clone()
            opt.step()
        for n, p in zip(names, params):
            out[f"{key}.{n}"] = p.detach()
    for k in range(steps):
        grads = [req[f"grad.{n}.{k}"].clone().requires_grad_(True) for n in names]
        params = [torch.zeros_like(g, requires_grad=True) for g in grads]
        for p, g in zip(params, grads):
            p.grad = g.detach().clone()
        total = torch.nn.utils.clip_grad_norm_(params, float(meta["max_norm"]))
        out[f"clip.{k}.total"] = total.reshape(1)
        for n, p in zip(names, params):
            out[f"clip.{k}.{n}"] = p.grad
    # Learning rates are Python floats: they travel as JSON (repr round-trips a double exactly).
    lrs = {
        "step": lr_curve(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5), 0.1, 12),
        "cosine": lr_curve(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=1e-3), 0.1, 10),
        "warmup_cosine": lr_curve(lambda o: torch.optim.lr_scheduler.SequentialLR(o, [
            torch.optim.lr_scheduler.LinearLR(o, start_factor=1 / 4, total_iters=4),
            torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=16, eta_min=1e-3)], milestones=[4]), 0.1, 20),
    }
    return out, {"lr": json.dumps(lrs)}


def lr_curve(make, base, steps):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base)
    sched = make(opt)
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


if len(sys.argv) == 4 and sys.argv[1] == "optim":
    req, meta = load(sys.argv[2])
    tensors, extra = optim_job(req, meta)
    save(sys.argv[3], tensors, {"generator": "tools/reference/train_step.py optim", "torch": torch.__version__, **extra})
    sys.exit(0)


# ---------------------------------------------------------------- kinks
# ReLU and PReLU have a kink at 0. A float32 input a few 1e-6 from zero falls on either side
# depending on summation order, and the gradient on one side differs from the other's by the
# whole of what flows through that element: a flip in one element of a 1x1 reduce moved that
# conv's weight gradient by 15% on the test's batch. To compare gradients of the same function
# branch, torch takes tsface's masks and runs the activation as the linear map of that branch:
# relu(x) -> x * mask, prelu(x) -> where(mask, x, alpha * x). Where the masks agree with torch's
# own (x > 0) these are the same function with the same gradient; where they do not, torch
# differentiates the branch tsface was on, at an x within rounding of the kink.
# Max pooling is the same kind of kink: two cells of a window a few 1e-7 apart (measured on the
# test's nn4 batch after the SIMD kernels) route the window's gradient to one or the other, so
# tsface also hands over each window's pick and torch gathers that cell.

def load_masks(path):
    """Reads test/helpers/kinks.ts's file: activation signs as bool tensors (bit-packed U8) and
    max-pool picks as int64 window offsets (a byte each), by name; shapes in the metadata."""
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__")
    signs, picks = json.loads(meta["mask_shapes"]), json.loads(meta["pick_shapes"])
    out = {}
    for name, h in header.items():
        assert h["dtype"] == "U8", name
        a, b = h["data_offsets"]
        data = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=np.uint8)
        if name in signs:
            size = int(np.prod(signs[name]))
            out[name] = torch.from_numpy(np.unpackbits(data, bitorder="little")[:size].astype(bool).reshape(signs[name]))
        else:
            out[name] = torch.from_numpy(data.astype(np.int64).reshape(picks[name]))
    return out


class Kinks:
    """The activations of one forward pass: on tsface's branch where masks are given, plain otherwise."""

    def __init__(self, masks=None):
        self.masks = masks
        self.used = set()
        self.elements = 0
        self.disagree = 0
        self.worst = 0.0  # largest distance from the kink where torch's own choice differs from tsface's
        self.layers = {}  # name -> disagreeing elements, where any

    def _take(self, name, shape):
        if self.masks is None:
            return None
        if name not in self.masks:
            raise KeyError(f"no mask for {name}: the names here and in tsface differ")
        if name in self.used:
            raise KeyError(f"{name} used twice in one pass")
        self.used.add(name)
        m = self.masks[name]
        assert tuple(m.shape) == tuple(shape), (name, m.shape, shape)
        self.elements += m.numel()
        return m

    def _count(self, name, diff, distance):
        """diff: where torch's own choice differs; distance: how far from the kink each element is."""
        k = int(diff.sum())
        if k:
            self.disagree += k
            self.layers[name] = k
            self.worst = max(self.worst, float(distance[diff].max()))

    def _mask(self, x, name):
        m = self._take(name, x.shape)
        if m is not None:
            x = x.detach()
            self._count(name, (x > 0) != m, x.abs())
        return m

    def max_pool(self, x, k, stride, pad, name):
        """max_pool2d (floor mode); with picks, the picked cell of each window (its gradient goes
        there), the window's cells padded with -inf as max_pool2d's padding."""
        n, c, h, w = x.shape
        oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
        m = self._take(name, (n, c, oh, ow))
        if m is None:
            return F.max_pool2d(x, k, stride, pad)
        xp = F.pad(x, (pad, pad, pad, pad), value=-math.inf) if pad else x
        cells = xp.unfold(2, k, stride).unfold(3, k, stride).reshape(n, c, oh, ow, k * k)
        y = cells.gather(4, m.unsqueeze(4)).squeeze(4)
        # torch's own pick: argmax gives the first maximum, as max_pool2d.
        own = cells.detach().argmax(4)
        self._count(name, own != m, cells.detach().amax(4) - y.detach())
        return y

    def relu(self, x, name):
        m = self._mask(x, name)
        return F.relu(x) if m is None else x * m.to(x.dtype)

    def prelu(self, x, alpha, name):
        m = self._mask(x, name)
        return F.prelu(x, alpha) if m is None else torch.where(m, x, alpha.reshape(1, -1, 1, 1) * x)

    def finish(self):
        """Every mask given was used (a misnamed activation would otherwise run unmasked)."""
        if self.masks is not None and self.used != set(self.masks):
            raise KeyError(f"masks never used: {sorted(set(self.masks) - self.used)[:5]}")
        return {"elements": self.elements, "disagree": self.disagree, "distance": self.worst, "layers": self.layers}


# ---------------------------------------------------------------- nets
# Written from the architecture tables (MobileFaceNet's Table 1 as the bundled model realises it;
# OpenFace's nn4.small2.def.lua), not from tsface's builders.

MFN_STAGES = [("stage1", 2, 64, 5, 2), ("stage2", 4, 128, 1, 2), ("stage3", 2, 128, 6, 1), ("stage4", 4, 128, 1, 2), ("stage5", 2, 128, 2, 1)]


def mobilefacenet(P, x, K):
    def conv(x, name, stride=1, groups=1):
        w = P[f"{name}.weight"]
        if w.shape[2] == 3:
            # TensorFlow SAME: 1 on every side at stride 1; 0 before and 1 after at stride 2 on even sizes.
            x = F.pad(x, (1, 1, 1, 1) if stride == 1 else (0, 1, 0, 1))
        return F.conv2d(x, w, P[f"{name}.bias"], stride=stride, groups=groups)

    def prelu(x, name):
        return K.prelu(x, P[f"{name}.alpha"], name)

    def block(x, name, cin, cout, stride):
        residual = stride == 1 and cin == cout
        # tsface's weight names give a residual's unnamed body an empty path component.
        body = f"{name}." if residual else name
        mid = P[f"{body}.expand.weight"].shape[0]
        y = prelu(conv(x, f"{body}.expand"), f"{body}.expand_prelu")
        y = prelu(conv(y, f"{body}.depthwise", stride, mid), f"{body}.depthwise_prelu")
        y = conv(y, f"{body}.project")
        return y + x if residual else y

    m = "mobilefacenet"
    x = prelu(conv(x, f"{m}.stem.conv", 2), f"{m}.stem.conv_prelu")
    x = prelu(conv(x, f"{m}.stem.depthwise", 1, 64), f"{m}.stem.depthwise_prelu")
    x = conv(x, f"{m}.stem.project")
    c = 64
    for name, t, cout, repeat, stride in MFN_STAGES:
        for i in range(repeat):
            x = block(x, f"{m}.{name}.block{i}", c, cout, stride if i == 0 else 1)
            c = cout
    x = prelu(conv(x, f"{m}.head.expand"), f"{m}.head.expand_prelu")
    x = conv(x, f"{m}.head.gdconv", 1, 512)
    x = conv(x, f"{m}.head.linear")
    x = conv(x, f"{m}.head.embedding")
    return F.normalize(x.reshape(x.shape[0], -1), dim=1, eps=1e-12)


def safe_sqrt(s):
    """sqrt whose gradient is 0 where s is 0 (an all-zero L2 pool window), as tsface's backward."""
    positive = s > 0
    return torch.where(positive, torch.where(positive, s, torch.ones_like(s)).sqrt(), torch.zeros_like(s))


def nn4small2(P, B, x, K):
    """B: running statistics by batch-norm name, updated in place (training mode)."""
    def cbr(x, conv, bn, stride=1, pad=0):
        x = F.conv2d(x, P[f"{conv}.weight"], P[f"{conv}.bias"], stride=stride, padding=pad)
        x = F.batch_norm(x, B[f"{bn}.mean"], B[f"{bn}.variance"], P[f"{bn}.weight"], P[f"{bn}.bias"], True, 0.1, 1e-5)
        # tsface names each unit's ReLU after its batch norm: bn1 -> relu1, reduce_bn -> reduce_relu.
        head, last = bn.rsplit(".", 1)
        return K.relu(x, f"{head}.{last.replace('bn', 'relu')}")

    def lrn(x):
        return F.local_response_norm(x, 5, 1e-4, 0.75, 1.0)

    def inception(x, n, c3, c5, pool, proj, stride=1):
        parts = []
        if c3:
            parts.append(cbr(cbr(x, f"{n}.3x3.reduce", f"{n}.3x3.reduce_bn"), f"{n}.3x3.conv", f"{n}.3x3.bn", stride, 1))
        if c5:
            parts.append(cbr(cbr(x, f"{n}.5x5.reduce", f"{n}.5x5.reduce_bn"), f"{n}.5x5.conv", f"{n}.5x5.bn", stride, 2))
        y = K.max_pool(x, 3, 2, 0, f"{n}.pool.pool") if pool == "max" else safe_sqrt(F.avg_pool2d(x * x, 3, 3) * 9)
        if proj:
            y = cbr(y, f"{n}.pool.proj", f"{n}.pool.proj_bn")
        parts.append(y)
        if f"{n}.1x1.conv.weight" in P:
            parts.append(cbr(x, f"{n}.1x1.conv", f"{n}.1x1.bn"))
        h = max(p.shape[2] for p in parts)
        padded = []
        for p in parts:  # Torch's DepthConcat centres a smaller branch
            d = h - p.shape[2]
            padded.append(F.pad(p, (d // 2, d - d // 2, d // 2, d - d // 2)))
        return torch.cat(padded, 1)

    m = "nn4"
    x = cbr(x, f"{m}.conv1", f"{m}.bn1", 2, 3)
    x = lrn(K.max_pool(x, 3, 2, 1, f"{m}.pool1"))
    x = cbr(x, f"{m}.conv2", f"{m}.bn2")
    x = cbr(x, f"{m}.conv3", f"{m}.bn3", 1, 1)
    x = K.max_pool(lrn(x), 3, 2, 1, f"{m}.pool2")
    x = inception(x, f"{m}.inception_3a", 128, 32, "max", 32)
    x = inception(x, f"{m}.inception_3b", 128, 64, "l2", 64)
    x = inception(x, f"{m}.inception_3c", 256, 64, "max", 0, 2)
    x = inception(x, f"{m}.inception_4a", 192, 64, "l2", 128)
    x = inception(x, f"{m}.inception_4e", 256, 128, "max", 0, 2)
    x = inception(x, f"{m}.inception_5a", 384, 0, "l2", 96)
    x = inception(x, f"{m}.inception_5b", 384, 0, "max", 96)
    x = F.avg_pool2d(x, 3, 1)
    x = F.linear(x.reshape(x.shape[0], -1), P[f"{m}.dense.weight"], P[f"{m}.dense.bias"])
    return F.normalize(x, dim=1, eps=1e-12)


def triplet_loss(emb, triplets, margin):
    t = triplets.long()
    a, p, n = emb[t[:, 0]], emb[t[:, 1]], emb[t[:, 2]]
    return F.relu(((a - p) ** 2).sum(1) - ((a - n) ** 2).sum(1) + margin).mean()


def split(tensors, prefix):
    """Parameters (leaf tensors that train) and buffers (batch-norm running statistics)."""
    P = {k: v.clone().requires_grad_(True) for k, v in tensors.items() if k.startswith(prefix + ".") and not k.endswith((".mean", ".variance"))}
    B = {k: v.clone() for k, v in tensors.items() if k.startswith(prefix + ".") and k.endswith((".mean", ".variance"))}
    return P, B


def masks_of(masks, prefix, net):
    """The masks of `net` named `<prefix><net>.<layer>`, by `<net>.<layer>`; None where the request
    gave none for that pass (the report's element count of 0 shows it)."""
    if masks is None:
        return None
    picked = {k[len(prefix):]: v for k, v in masks.items() if k.startswith(f"{prefix}{net}.")}
    return picked or None


def nets_job(req, meta, masks):
    margin = float(meta["margin"])
    out = {}
    kinks = {}
    mfn_weights, _ = load(os.path.join(ROOT, "weights", "mobilefacenet.safetensors"))
    cases = {
        "mobilefacenet": (mfn_weights, lambda P, B, x, K: mobilefacenet(P, x, K)),
        "nn4": (req, nn4small2),
    }
    for net, (weights, forward) in cases.items():
        x, triplets = req[f"input.{net}"], req[f"triplets.{net}"]
        P, B = split(weights, net)
        K = Kinks(masks_of(masks, "step.", net))
        loss = triplet_loss(forward(P, B, x, K), triplets, margin)
        kinks[net] = K.finish()
        loss.backward()
        out[f"{net}.loss"] = loss.detach().reshape(1)
        for k, p in P.items():
            out[f"{net}.grad.{k}"] = p.grad
        for k, b in B.items():
            out[f"{net}.running.{k}"] = b
        # One optimiser step from the same start and gradients, each.
        for opt_name, make in (("sgd", lambda ps: torch.optim.SGD(ps, lr=float(meta["sgd_lr"]), momentum=0.9, weight_decay=5e-4)),
                               ("adam", lambda ps: torch.optim.Adam(ps, lr=float(meta["adam_lr"])))):
            Q = {k: v.detach().clone().requires_grad_(True) for k, v in P.items()}
            for k, q in Q.items():
                q.grad = P[k].grad.clone()
            make(list(Q.values())).step()
            for k, q in Q.items():
                out[f"{net}.{opt_name}.{k}"] = q.detach()
    # A short run: SGD with momentum on one fixed batch and fixed triplets.
    net = meta["curve_net"]
    weights, forward = cases[net]
    P, B = split(weights, net)
    opt = torch.optim.SGD(list(P.values()), lr=float(meta["curve_lr"]), momentum=0.9)
    losses = []
    curve_kinks = []
    for k in range(int(meta["curve_steps"])):
        opt.zero_grad()
        # Each step on the branch tsface's step k took (its weights differ from these by rounding).
        K = Kinks(masks_of(masks, f"curve.{k}.", net))
        loss = triplet_loss(forward(P, B, req["curve.input"], K), req["curve.triplets"], margin)
        curve_kinks.append(K.finish())
        loss.backward()
        opt.step()
        losses.append(float(loss))
    return out, {"curve": json.dumps(losses), "kinks": json.dumps(kinks), "curve_kinks": json.dumps(curve_kinks)}


if len(sys.argv) in (4, 5) and sys.argv[1] == "nets":
    req, meta = load(sys.argv[2])
    tensors, extra = nets_job(req, meta, load_masks(sys.argv[4]) if len(sys.argv) == 5 else None)
    save(sys.argv[3], tensors, {"generator": "tools/reference/train_step.py nets", "torch": torch.__version__, **extra})
    sys.exit(0)

if __name__ == "__main__":
    raise SystemExit(__doc__)
