"""MTCNN tie-rule fixtures from PyTorch, torchvision and NumPy, built to contain exact ties.

MTCNN's scores saturate, so exactly equal float32 scores are common, and which box survives NMS
then hangs on three details of the reference: torch's float32 softmax, torchvision's nms order
among equal scores, NumPy's argsort in the final 'Min' NMS; and area resizing that divides twice.

Writes test/fixtures/ties.safetensors:
  softmax.map.input/.output    [1, 2, H, W] logits and torch.softmax(dim=1) (P-Net's form)
  softmax.rows.input/.output   [N, 2] logits and torch.softmax(dim=1) (R-Net/O-Net's form)
  nms.<k>.boxes/.scores/.keep  torchvision.ops.nms keeps (as float indices), threshold in metadata
  argsort.<k>.scores/.order    np.argsort(scores) (NumPy's default sort) of float32 scores
  area.<k>.image/.output       an 8-bit RGB image (H, W, 3) and facenet-pytorch's imresample of a
                               region, normalised ((v - 127.5) * 0.0078125), region in metadata
Run with the system Python that Debian's python3-torch serves: /usr/bin/python3 tools/reference/ties.py
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_io import save  # noqa: E402

torch.manual_seed(20261202)
rng = np.random.default_rng(20261202)
torch.set_num_threads(1)
tensors = {}
meta = {"torch": torch.__version__, "torchvision": torchvision.__version__, "numpy": np.__version__}


def saturated_logits(n):
    """Logit pairs like MTCNN's: mostly confident faces and non-faces, so softmax lands on the
    last few float32 steps below 1 and many pairs tie there."""
    a = rng.normal(0, 4, n)
    b = a + rng.choice([-1, 1], n) * rng.uniform(6, 18, n)
    x = np.stack([a, b], 1).astype(np.float32)
    x[0] = [-7.83281946182251, 7.8315887451171875]  # the case in ../shared/docs/mtcnn.md item 9
    return x


rows = torch.from_numpy(saturated_logits(4096))
tensors["softmax.rows.input"] = rows
tensors["softmax.rows.output"] = torch.softmax(rows, dim=1)
grid = torch.from_numpy(saturated_logits(48 * 40)).T.reshape(1, 2, 48, 40).contiguous()
tensors["softmax.map.input"] = grid
tensors["softmax.map.output"] = torch.softmax(grid, dim=1)


def tied_boxes(n, spread):
    """Boxes in a few overlapping clusters with scores from a handful of values (exact ties)."""
    centres = rng.uniform(50, 400, (max(1, n // 6), 2))
    c = centres[rng.integers(0, len(centres), n)] + rng.normal(0, spread, (n, 2))
    size = rng.uniform(20, 120, n)
    boxes = np.stack([c[:, 0], c[:, 1], c[:, 0] + size, c[:, 1] + size * rng.uniform(0.9, 1.1, n)], 1)
    boxes = np.round(boxes)  # integer corners, as P-Net's grid boxes often are: more equal overlaps
    scores = rng.choice(np.array([0.9999999, 0.99999, 0.97, 0.8], dtype=np.float32), n)
    return boxes.astype(np.float32), scores


nms_cases = []
for k, (n, spread, threshold) in enumerate([(12, 6, 0.5), (60, 10, 0.5), (200, 15, 0.7), (40, 3, 0.7)]):
    boxes, scores = tied_boxes(n, spread)
    keep = torchvision.ops.nms(torch.from_numpy(boxes), torch.from_numpy(scores), threshold)
    tensors[f"nms.{k}.boxes"] = boxes
    tensors[f"nms.{k}.scores"] = scores
    tensors[f"nms.{k}.keep"] = keep.numpy().astype(np.float32)
    nms_cases.append({"name": str(k), "threshold": threshold})
meta["nms"] = json.dumps(nms_cases)

argsort_cases = []
for k, n in enumerate([5, 16, 17, 40, 300, 2000]):
    scores = rng.choice(np.array([0.9999999, 0.99999, 0.999, 0.97, 0.5], dtype=np.float32), n)
    tensors[f"argsort.{k}.scores"] = scores
    tensors[f"argsort.{k}.order"] = np.argsort(scores).astype(np.float32)
    argsort_cases.append(str(k))
meta["argsort"] = json.dumps(argsort_cases)


def imresample(img, size):
    # facenet-pytorch's resize: area interpolation of a float32 NCHW tensor that is a permuted
    # (channels-last in memory) view of the HWC pixels.
    return F.interpolate(img, size=size, mode="area")


area_cases = []
for k, (h, w, region, out) in enumerate([
    (6, 6, (0, 0, 6, 6), (2, 2)),
    (97, 131, (0, 0, 131, 97), (41, 55)),
    (120, 90, (7, 13, 61, 58), (24, 24)),
    (200, 160, (21, 33, 117, 109), (48, 48)),
    (64, 64, (0, 0, 64, 64), (13, 13)),
]):
    image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    if k == 0:
        image[:] = 0
        image[0, 0] = 5  # the example of ../shared/docs/mtcnn.md item 9: 5 / 3 / 3, not 5 / 9
    x, y, rw, rh = region
    t = torch.from_numpy(image).float().unsqueeze(0).permute(0, 3, 1, 2)
    crop = t[:, :, y:y + rh, x:x + rw]
    tensors[f"area.{k}.image"] = image.astype(np.float32)
    tensors[f"area.{k}.output"] = (imresample(crop, out) - 127.5) * 0.0078125
    area_cases.append({"name": str(k), "region": [x, y, rw, rh], "out": list(out)})
meta["area"] = json.dumps(area_cases)

out = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "ties.safetensors")
save(out, tensors, meta)
print(f"wrote {os.path.normpath(out)}: {len(tensors)} tensors")
