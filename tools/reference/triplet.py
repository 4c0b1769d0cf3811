"""Triplet loss reference: value and gradients by PyTorch autograd, batch-hard and semi-hard
triplets by direct enumeration, for seeded random embeddings and labels.
Writes test/fixtures/triplet.safetensors. Run: /usr/bin/python3 tools/reference/triplet.py
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_io import save  # noqa: E402

torch.manual_seed(3)
MARGIN = 0.2
x = F.normalize(torch.randn(12, 16, dtype=torch.float64), dim=1)
labels = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 4])
d = torch.cdist(x, x) ** 2

hard = []
for a in range(12):
    pos = [j for j in range(12) if j != a and labels[j] == labels[a]]
    neg = [j for j in range(12) if labels[j] != labels[a]]
    if pos and neg:
        hard.append([a, max(pos, key=lambda j: d[a, j]), min(neg, key=lambda j: d[a, j])])
semi = []
for a in range(12):
    for p in range(12):
        if p == a or labels[p] != labels[a]:
            continue
        neg = [j for j in range(12) if labels[j] != labels[a]]
        farther = [j for j in neg if d[a, j] > d[a, p]]
        semi.append([a, p, min(farther, key=lambda j: d[a, j]) if farther else max(neg, key=lambda j: d[a, j])])

def loss_and_grads(triplets):
    t = torch.tensor(triplets)
    a = x[t[:, 0]].clone().requires_grad_(True)
    p = x[t[:, 1]].clone().requires_grad_(True)
    n = x[t[:, 2]].clone().requires_grad_(True)
    loss = F.relu(((a - p) ** 2).sum(1) - ((a - n) ** 2).sum(1) + MARGIN).mean()
    loss.backward()
    return t, loss.detach(), a.grad, p.grad, n.grad

out = {"embeddings": x.float(), "labels": labels.float()}
for name, triplets in (("hard", hard), ("semi", semi)):
    t, loss, ga, gp, gn = loss_and_grads(triplets)
    out.update({f"{name}.triplets": t.float(), f"{name}.loss": loss.reshape(1).float(), f"{name}.grad_anchor": ga.float(),
                f"{name}.grad_positive": gp.float(), f"{name}.grad_negative": gn.float()})
path = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "triplet.safetensors")
save(path, out, {"generator": "tools/reference/triplet.py", "margin": str(MARGIN), "torch": torch.__version__})
print(f"wrote {path}: {len(hard)} batch-hard and {len(semi)} semi-hard triplets")
