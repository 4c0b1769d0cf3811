"""The PyTorch side of the train-step bench rows (tools/bench/trainStep.ts): one training step of
MobileFaceNet or nn4.small2 at batch 32 on the CPU, float32, as tsface's tripletStep plus an Adam
update does it: forward with autograd (nn4's batch norms in training mode), embeddings
L2-normalised, batch-hard triplets mined from the batch, triplet loss, backward, Adam step.

The nets are tools/reference/train_step.py's functional definitions (written from the
architecture tables, checked against tsface's gradients by test/train-step-reference.test.ts);
weights and the batch come from the safetensors file the bench writes, so both engines start from
the same values.

  pytorch_train_step.py --net mobilefacenet|nn4 --threads N --request FILE

A long-lived worker, so the bench can time it in turns with tsface: after loading it prints one
JSON line {"ready": true, "torch": VERSION}; then each line "step" on stdin runs one step and
prints {"ms": WALL_MS, "loss": LOSS}; "quit" or end of input exits.
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "reference"))
# Importing sets torch to 1 thread; --threads is applied after.
from train_step import Kinks, load, mobilefacenet, nn4small2, split, triplet_loss  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--net", choices=["mobilefacenet", "nn4"], required=True)
parser.add_argument("--threads", type=int, required=True)
parser.add_argument("--request", required=True)
parser.add_argument("--margin", type=float, default=0.2)
parser.add_argument("--lr", type=float, default=1e-4)
args = parser.parse_args()
torch.set_num_threads(args.threads)

tensors, _ = load(args.request)
x = tensors.pop("input")
labels = tensors.pop("labels").long()
P, B = split(tensors, args.net)
# Kinks() without masks: plain ReLU, PReLU and max pooling, as a PyTorch user runs them.
forward = (lambda x: mobilefacenet(P, x, Kinks())) if args.net == "mobilefacenet" else (lambda x: nn4small2(P, B, x, Kinks()))
params = list(P.values())
optimizer = torch.optim.Adam(params, lr=args.lr)
same = labels[:, None] == labels[None, :]
eye = torch.eye(len(labels), dtype=torch.bool)


def batch_hard(emb):
    """For every anchor: the farthest positive and the closest negative (squared distances)."""
    with torch.no_grad():
        d = (emb[:, None, :] - emb[None, :, :]).pow(2).sum(2)
        positive = d.masked_fill(~same | eye, -float("inf")).argmax(1)
        negative = d.masked_fill(same, float("inf")).argmin(1)
        return torch.stack([torch.arange(len(labels)), positive, negative], 1)


def step():
    optimizer.zero_grad(set_to_none=True)
    emb = forward(x)
    loss = triplet_loss(emb, batch_hard(emb), args.margin)
    loss.backward()
    optimizer.step()
    return float(loss)


print(json.dumps({"ready": True, "torch": torch.__version__}), flush=True)
for line in sys.stdin:
    command = line.strip()
    if command == "quit":
        break
    if command != "step":
        raise SystemExit(f"unknown command {command!r}")
    started = time.perf_counter()
    loss = step()
    print(json.dumps({"ms": (time.perf_counter() - started) * 1000, "loss": loss}), flush=True)
