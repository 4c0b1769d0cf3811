"""The whole MTCNN cascade in float32 torch ops, step for step as facenet-pytorch (commit 787da06)
runs it, on tsface's bundled weights (weights/mtcnn.safetensors). It is the PyTorch anchor of the
benchmark (issue #13: facenet-pytorch is not on the package registries) and a second opinion on
tsface's detections: on PIL's pixels it must reproduce ../shared/reference/mtcnn/detections.

The arithmetic follows ../shared/docs/mtcnn.md ("Exact arithmetic of the reference"): the same
torch / torchvision / NumPy calls in the same order, because which box survives an exact score
tie depends on the op that sorts (torchvision's nms, NumPy's argsort) and on float32 rounding
order (area resizing, softmax, `x1 + w*0.5 - l*0.5`).

Usage:
  /usr/bin/python3 tools/reference/mtcnn_cascade.py IMAGE... [--json] [--threads N] [--time RUNS]
    --json        detections as JSON, the shape of `tsface detect --json`
    --threads N   torch.set_num_threads(N) (default 1)
    --time RUNS   median ms of RUNS end-to-end runs over all IMAGEs (file bytes already in memory;
                  each run: PIL decode + detect), after one warm-up run; with --json as an object
"""
import argparse
import io
import json
import os
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from torchvision.ops import batched_nms

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
WEIGHTS = os.path.join(ROOT, "weights", "mtcnn.safetensors")


def read_safetensors(path):
    """name -> float32 torch tensor. Only what tsface writes: F32, little-endian, C order."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: {name} is {info['dtype']}, expected F32")
        a, b = info["data_offsets"]
        arr = np.frombuffer(blob, dtype="<f4", count=(b - a) // 4, offset=8 + n + a).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


def load_nets(path=WEIGHTS):
    """tsface's layout -> facenet-pytorch's. Convs are already OIHW for normal images. tsface's
    converter permuted the dense layer after the last conv to take the plain (c, y, x) flatten;
    facenet-pytorch keeps the original (x, y, c) weights and permutes the activations instead,
    so undo it here: W[o, (c*Y + y)*X + x] -> W[o, (x*Y + y)*C + c]. The dot products then sum in
    facenet-pytorch's order, which keeps float32 rounding, and so ties, the same."""
    w = read_safetensors(path)
    for key, (c, y, x) in (("rnet.dense4.weight", (64, 3, 3)), ("onet.dense5.weight", (128, 3, 3))):
        o = w[key].shape[0]
        w[key] = w[key].reshape(o, c, y, x).permute(0, 3, 2, 1).reshape(o, -1).contiguous()
    return w


def conv_prelu(w, p, x, i):
    x = F.conv2d(x, w[f"{p}.conv{i}.weight"], w[f"{p}.conv{i}.bias"])
    return F.prelu(x, w[f"{p}.prelu{i}.alpha"])


def pnet(w, x):
    """Returns (box regression, face probability map), as facenet-pytorch's PNet.forward."""
    x = F.max_pool2d(conv_prelu(w, "pnet", x, 1), 2, 2, ceil_mode=True)
    x = conv_prelu(w, "pnet", conv_prelu(w, "pnet", x, 2), 3)
    a = F.softmax(F.conv2d(x, w["pnet.conv4_1.weight"], w["pnet.conv4_1.bias"]), dim=1)
    b = F.conv2d(x, w["pnet.conv4_2.weight"], w["pnet.conv4_2.bias"])
    return b, a


def flatten_xyc(x):
    # The transposed-image flatten the original weights expect (see load_nets).
    return x.permute(0, 3, 2, 1).contiguous().view(x.shape[0], -1)


def rnet(w, x):
    x = F.max_pool2d(conv_prelu(w, "rnet", x, 1), 3, 2, ceil_mode=True)
    x = F.max_pool2d(conv_prelu(w, "rnet", x, 2), 3, 2, ceil_mode=True)
    x = flatten_xyc(conv_prelu(w, "rnet", x, 3))
    x = F.prelu(F.linear(x, w["rnet.dense4.weight"], w["rnet.dense4.bias"]), w["rnet.prelu4.alpha"])
    a = F.softmax(F.linear(x, w["rnet.dense5_1.weight"], w["rnet.dense5_1.bias"]), dim=1)
    b = F.linear(x, w["rnet.dense5_2.weight"], w["rnet.dense5_2.bias"])
    return b, a


def onet(w, x):
    x = F.max_pool2d(conv_prelu(w, "onet", x, 1), 3, 2, ceil_mode=True)
    x = F.max_pool2d(conv_prelu(w, "onet", x, 2), 3, 2, ceil_mode=True)
    x = F.max_pool2d(conv_prelu(w, "onet", x, 3), 2, 2, ceil_mode=True)
    x = flatten_xyc(conv_prelu(w, "onet", x, 4))
    x = F.prelu(F.linear(x, w["onet.dense5.weight"], w["onet.dense5.bias"]), w["onet.prelu5.alpha"])
    a = F.softmax(F.linear(x, w["onet.dense6_1.weight"], w["onet.dense6_1.bias"]), dim=1)
    b = F.linear(x, w["onet.dense6_2.weight"], w["onet.dense6_2.bias"])
    c = F.linear(x, w["onet.dense6_3.weight"], w["onet.dense6_3.bias"])
    return b, c, a


def in_batches(net, w, x, size=512):
    # facenet-pytorch feeds R-Net and O-Net at most 512 crops at a time; kept so batch shapes
    # (and any batch-dependent kernel choice) are the same.
    outs = [net(w, x[i:i + size]) for i in range(0, max(len(x), 1), size)]
    return tuple(torch.cat(v, dim=0) for v in zip(*outs))


def resample(img, size):
    # Area interpolation = adaptive average pooling; torch 1.13 divides by kh then by kw.
    return F.interpolate(img, size=size, mode="area")


def candidates(reg, probs, scale, thresh):
    """P-Net cells with probability >= thresh -> [x1, y1, x2, y2, score, r0..r3] rows. The
    float32 tensor / Python-float division rounds as facenet-pytorch's (doc item 2)."""
    reg = reg.permute(1, 0, 2, 3)
    mask = probs >= thresh
    idx = mask.nonzero()
    score = probs[mask]
    reg = reg[:, mask].permute(1, 0)
    cell = idx[:, 1:].type(reg.dtype).flip(1)  # (row, col) -> (x, y)
    q1 = ((2 * cell + 1) / scale).floor()
    q2 = ((2 * cell + 12) / scale).floor()
    return torch.cat([q1, q2, score.unsqueeze(1), reg], dim=1), idx[:, 0]


def regress(boxes, reg):
    # Stages 2 and 3: widths with +1 (stage 1 has its own, without).
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    boxes[:, :4] = torch.stack([boxes[:, 0] + reg[:, 0] * w, boxes[:, 1] + reg[:, 1] * h,
                                boxes[:, 2] + reg[:, 2] * w, boxes[:, 3] + reg[:, 3] * h]).permute(1, 0)
    return boxes


def square(boxes):
    h = boxes[:, 3] - boxes[:, 1]
    w = boxes[:, 2] - boxes[:, 0]
    l = torch.max(w, h)
    boxes[:, 0] = boxes[:, 0] + w * 0.5 - l * 0.5
    boxes[:, 1] = boxes[:, 1] + h * 0.5 - l * 0.5
    boxes[:, 2:4] = boxes[:, :2] + l.repeat(2, 1).permute(1, 0)
    return boxes


def crop_bounds(boxes, w, h):
    """Boxes truncated toward zero, clamped to [1, w] x [1, h] (1-based, inclusive): only the part
    inside the image is cropped, no zero padding (doc item 5)."""
    b = boxes.trunc().int().numpy()
    x, y, ex, ey = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    x[x < 1] = 1
    y[y < 1] = 1
    ex[ex > w] = w
    ey[ey > h] = h
    return y, ey, x, ex


def crops(imgs, boxes, image_inds, w, h, size):
    """Resized crops and the indices of the boxes they came from. facenet-pytorch skips empty crops
    without dropping their boxes (rows then misalign or it fails); here the box goes too, which
    is the same whenever every crop is non-empty, as on any box that touches the image."""
    y, ey, x, ex = crop_bounds(boxes, w, h)
    data, kept = [], []
    for k in range(len(y)):
        if ey[k] > y[k] - 1 and ex[k] > x[k] - 1:
            data.append(resample(imgs[image_inds[k], :, y[k] - 1:ey[k], x[k] - 1:ex[k]].unsqueeze(0), (size, size)))
            kept.append(k)
    if not data:
        return torch.zeros(0, 3, size, size), torch.zeros(0, dtype=torch.long)
    return (torch.cat(data, dim=0) - 127.5) * 0.0078125, torch.as_tensor(kept, dtype=torch.long)


def nms_min(boxes, scores, threshold):
    """The final NumPy NMS, 'Min' overlap (intersection / smaller area, +1 sizes). It takes the
    last element of np.argsort first, so among equal scores the higher index wins (doc item 9)."""
    x1, y1, x2, y2 = (boxes[:, i].copy() for i in range(4))
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(scores)
    pick = []
    while order.size > 0:
        i = order[-1]
        pick.append(i)
        rest = order[:-1]
        iw = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
        ih = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
        overlap = iw * ih / np.minimum(area[i], area[rest])
        order = rest[np.where(overlap <= threshold)]
    return torch.as_tensor(np.array(pick, dtype=np.int64), dtype=torch.long)


def batched_nms_min(boxes, scores, image_inds, threshold):
    if boxes.numel() == 0:
        return torch.empty((0,), dtype=torch.long)
    # One image here, so the per-image offset is 0; kept for the same float32 additions.
    offsets = image_inds.to(boxes) * (boxes.max() + 1)
    return nms_min((boxes + offsets[:, None]).numpy(), scores.numpy(), threshold)


def detect(w, pil, min_face=20, thresholds=(0.6, 0.7, 0.7), factor=0.709):
    """facenet-pytorch's detect_face for one image, then MTCNN.detect's sort by area."""
    imgs = torch.as_tensor(np.stack([np.uint8(pil)]).copy()).permute(0, 3, 1, 2).type(torch.float32)
    h, width = imgs.shape[2:4]
    m = 12.0 / min_face
    minl = min(h, width) * m
    scales, s = [], m
    while minl >= 12:
        scales.append(s)
        s *= factor
        minl *= factor
    if not scales:
        # Smaller than the smallest face: facenet-pytorch fails in torch.cat here; no faces.
        return {"width": int(width), "height": int(h), "faces": []}

    # Stage 1: P-Net per pyramid level, NMS 0.5 per level, then 0.7 over all levels.
    boxes, image_inds, picks, offset = [], [], [], 0
    for scale in scales:
        level = (resample(imgs, (int(h * scale + 1), int(width * scale + 1))) - 127.5) * 0.0078125
        reg, probs = pnet(w, level)
        b, ii = candidates(reg, probs[:, 1], scale, thresholds[0])
        boxes.append(b)
        image_inds.append(ii)
        picks.append(batched_nms(b[:, :4], b[:, 4], ii, 0.5) + offset)
        offset += b.shape[0]
    boxes, image_inds = torch.cat(boxes, dim=0), torch.cat(image_inds, dim=0)
    pick = torch.cat(picks, dim=0)
    boxes, image_inds = boxes[pick], image_inds[pick]
    pick = batched_nms(boxes[:, :4], boxes[:, 4], image_inds, 0.7)
    boxes, image_inds = boxes[pick], image_inds[pick]
    rw = boxes[:, 2] - boxes[:, 0]
    rh = boxes[:, 3] - boxes[:, 1]
    boxes = torch.stack([boxes[:, 0] + boxes[:, 5] * rw, boxes[:, 1] + boxes[:, 6] * rh,
                         boxes[:, 2] + boxes[:, 7] * rw, boxes[:, 3] + boxes[:, 8] * rh, boxes[:, 4]]).permute(1, 0)
    boxes = square(boxes)

    # Stage 2: R-Net on 24x24 crops; keep > 0.7, NMS 0.7, regression (+1), square.
    if len(boxes) > 0:
        data, kept = crops(imgs, boxes, image_inds, width, h, 24)
        boxes, image_inds = boxes[kept], image_inds[kept]
        reg, prob = in_batches(rnet, w, data)
        score = prob[:, 1]
        ok = score > thresholds[1]
        boxes = torch.cat((boxes[ok, :4], score[ok].unsqueeze(1)), dim=1)
        image_inds, reg = image_inds[ok], reg[ok]
        pick = batched_nms(boxes[:, :4], boxes[:, 4], image_inds, 0.7)
        boxes, image_inds, reg = boxes[pick], image_inds[pick], reg[pick]
        boxes = square(regress(boxes, reg))

    # Stage 3: O-Net on 48x48 crops; landmarks from the box before regression; 'Min' NMS.
    points = torch.zeros(0, 5, 2)
    if len(boxes) > 0:
        data, kept = crops(imgs, boxes, image_inds, width, h, 48)
        boxes, image_inds = boxes[kept], image_inds[kept]
        reg, lm, prob = in_batches(onet, w, data)
        score = prob[:, 1]
        ok = score > thresholds[2]
        lm = lm[ok].permute(1, 0)
        boxes = torch.cat((boxes[ok, :4], score[ok].unsqueeze(1)), dim=1)
        image_inds, reg = image_inds[ok], reg[ok]
        bw = boxes[:, 2] - boxes[:, 0] + 1
        bh = boxes[:, 3] - boxes[:, 1] + 1
        px = bw.repeat(5, 1) * lm[:5, :] + boxes[:, 0].repeat(5, 1) - 1
        py = bh.repeat(5, 1) * lm[5:10, :] + boxes[:, 1].repeat(5, 1) - 1
        points = torch.stack((px, py)).permute(2, 1, 0)
        boxes = regress(boxes, reg)
        pick = batched_nms_min(boxes[:, :4], boxes[:, 4], image_inds, 0.7)
        boxes, points = boxes[pick], points[pick]

    boxes, points = boxes.numpy(), points.numpy()
    if len(boxes):
        # MTCNN(select_largest=True): NumPy argsort of the areas, reversed (largest first).
        order = np.argsort((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))[::-1]
        boxes, points = boxes[order], points[order]
    faces = [{"box": [float(v) for v in b[:4]], "score": float(b[4]), "landmarks": [[float(x), float(y)] for x, y in p]}
             for b, p in zip(boxes, points)]
    return {"width": int(width), "height": int(h), "faces": faces}


def decode(data):
    return Image.open(io.BytesIO(data)).convert("RGB")


def main():
    ap = argparse.ArgumentParser(description="facenet-pytorch's MTCNN cascade on tsface's weights (float32 torch)")
    ap.add_argument("images", nargs="+")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--time", type=int, default=0, metavar="RUNS")
    ap.add_argument("--weights", default=WEIGHTS)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    w = load_nets(args.weights)
    files = [(p, open(p, "rb").read()) for p in args.images]

    with torch.no_grad():
        if args.time > 0:
            def once():
                for _, data in files:
                    detect(w, decode(data))

            once()  # warm-up: first-call allocations and kernel selection
            times = []
            for _ in range(args.time):
                t = time.perf_counter()
                once()
                times.append((time.perf_counter() - t) * 1000)
            ms = statistics.median(times)
            if args.json:
                print(json.dumps({"torch": torch.__version__, "torchvision": torchvision.__version__, "threads": args.threads,
                                  "runs": args.time, "ms": ms, "images": args.images}))
            else:
                print(f"median {ms:.2f} ms of {args.time} runs over {len(files)} image(s), torch {torch.__version__}, {args.threads} thread(s)")
            return
        results = []
        for path, data in files:
            results.append({"image": path, **detect(w, decode(data))})

    if args.json:
        print(json.dumps(results))
        return
    for r in results:
        print(f"{r['image']} ({r['width']}x{r['height']}): {len(r['faces'])} face(s)")
        for f in r["faces"]:
            print(f"  box [{', '.join(f'{v:.2f}' for v in f['box'])}] score {f['score']:.5f}")


if __name__ == "__main__":
    sys.exit(main())
