"""Training references for tsface, torch on the CPU (1 thread, float32). Two jobs, each reading a
request safetensors file that the test writes and writing a result file the test reads:

  optim REQUEST RESULT   torch.optim's SGD / Adam / AdamW over seeded parameters and gradients,
                         clip_grad_norm_, StepLR and LinearLR + CosineAnnealingLR learning rates.
  nets REQUEST RESULT    MobileFaceNet (bundled weights) and nn4.small2 (the request's seeded
                         weights, batch norm in training mode), built here from the architecture
                         tables, not from tsface's builders: triplet-loss gradients of every
                         parameter for the request's batch and triplets, the weights after one
                         SGD and one Adam step, and a short run's loss curve.

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
