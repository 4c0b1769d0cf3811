"""The PyTorch row of `npm run bench:collection`: what `tsface scan --embed` does to a folder, done
the way a PyTorch user would, on the same weights: PIL decode, the repo's float32 torch MTCNN
cascade (tools/reference/mtcnn_cascade.py, checked against facenet-pytorch by
test/pytorch-cascade.test.ts), the same five-point similarity alignment (least squares, inverse
bilinear warp, 0 outside), MobileFaceNet in torch ops on weights/mobilefacenet.safetensors, and one
JSON line per photo written to a file. One process, photos one after another, torch's own
intra-op threads: torch.set_num_threads(N).

Usage:
  /usr/bin/python3 tools/bench/collection_torch.py DIR|IMAGE... [--threads N] [--warmup K] [--out FILE] [--json]
    --threads N  torch.set_num_threads(N) (default 1)
    --warmup K   photos scanned once before the timed pass (default 2): first-call allocations
    --out FILE   the JSON lines (default: a temporary file, removed)
    --json       the figures as one JSON object on stdout
"""
import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from mtcnn_cascade import ROOT, decode, detect, load_nets, read_safetensors  # noqa: E402

MOBILEFACENET = os.path.join(ROOT, "weights", "mobilefacenet.safetensors")
# The 112x112 five-point template MobileFaceNet's crops are aligned to (ArcFace / InsightFace).
TEMPLATE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]])
# Stages as (name, expansion, out channels, blocks, stride of the first block): the paper's Table 1.
STAGES = [("stage1", 2, 64, 5, 2), ("stage2", 4, 128, 1, 2), ("stage3", 2, 128, 6, 1), ("stage4", 4, 128, 1, 2), ("stage5", 2, 128, 2, 1)]
IMAGE_NAME = (".jpg", ".jpeg", ".png")


def walk(roots):
    """Image files under the arguments, folders in name order (as the scan walks them)."""
    for root in roots:
        if not os.path.isdir(root):
            yield root
            continue
        for name in sorted(os.listdir(root)):
            path = os.path.join(root, name)
            if os.path.isdir(path):
                yield from walk([path])
            elif name.lower().endswith(IMAGE_NAME):
                yield path


class MobileFaceNet:
    """Inverted residual blocks (1x1 expand, PReLU, 3x3 depthwise, PReLU, linear 1x1 project),
    TensorFlow SAME padding written out: 3x3 stride 1 pads 1 all round, stride 2 pads 0 top/left
    and 1 bottom/right on the even sizes this net sees; a 7x7 depthwise GDConv head."""

    def __init__(self, path=MOBILEFACENET):
        self.w = {k[len("mobilefacenet."):]: v for k, v in read_safetensors(path).items()}

    def conv(self, x, name, stride=1, groups=1):
        weight = self.w[f"{name}.weight"]
        if weight.shape[2] == 3:
            x = F.pad(x, (1, 1, 1, 1) if stride == 1 else (0, 1, 0, 1))
        return F.conv2d(x, weight, self.w[f"{name}.bias"], stride=stride, groups=groups)

    def prelu(self, x, name):
        return F.prelu(x, self.w[f"{name}.alpha"])

    def block(self, x, p, stride):
        mid = self.w[f"{p}expand.weight"].shape[0]
        y = self.prelu(self.conv(x, f"{p}expand"), f"{p}expand_prelu")
        y = self.prelu(self.conv(y, f"{p}depthwise", stride, mid), f"{p}depthwise_prelu")
        return self.conv(y, f"{p}project")

    def __call__(self, x):
        x = self.prelu(self.conv(x, "stem.conv", 2), "stem.conv_prelu")
        x = self.prelu(self.conv(x, "stem.depthwise", 1, 64), "stem.depthwise_prelu")
        x = self.conv(x, "stem.project")
        for name, _, _, blocks, stride in STAGES:
            for i in range(blocks):
                residual = f"{name}.block{i}..expand.weight" in self.w
                if residual:
                    x = x + self.block(x, f"{name}.block{i}..", 1)
                else:
                    x = self.block(x, f"{name}.block{i}.", stride if i == 0 else 1)
        x = self.prelu(self.conv(x, "head.expand"), "head.expand_prelu")
        x = F.conv2d(x, self.w["head.gdconv.weight"], self.w["head.gdconv.bias"], groups=x.shape[1])
        x = self.conv(self.conv(x, "head.linear"), "head.embedding")
        return x.flatten(1)


def similarity(src, dst):
    """The least-squares rotation + uniform scale + translation taking src onto dst, as a 2x3."""
    s, d = src - src.mean(0), dst - dst.mean(0)
    den = (s * s).sum()
    a = (s * d).sum() / den
    b = (s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum() / den
    tx, ty = dst.mean(0) - np.array([a * src.mean(0)[0] - b * src.mean(0)[1], b * src.mean(0)[0] + a * src.mean(0)[1]])
    return np.array([[a, -b, tx], [b, a, ty]])


def align(image, landmarks, size=112):
    """Crops [n, 3, size, size] (0..255, rounded): each output pixel samples the image through the
    inverse transform, bilinear, 0 outside (grid_sample on pixel centres, align_corners)."""
    _, _, h, w = image.shape
    grids = []
    u, v = np.meshgrid(np.arange(size), np.arange(size))
    for lm in landmarks:
        m = similarity(np.asarray(lm, dtype=np.float64), TEMPLATE_112)
        inv = np.linalg.inv(np.vstack([m, [0, 0, 1]]))[:2]
        sx = inv[0, 0] * u + inv[0, 1] * v + inv[0, 2]
        sy = inv[1, 0] * u + inv[1, 1] * v + inv[1, 2]
        grids.append(np.stack([2 * sx / (w - 1) - 1, 2 * sy / (h - 1) - 1], axis=-1))
    grid = torch.from_numpy(np.stack(grids)).float()
    crops = F.grid_sample(image.expand(len(grids), -1, -1, -1), grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    return crops.round()


def scan_photo(nets, embedder, path):
    """One photo's line, as `tsface scan --embed` writes it (faces with box, score, landmarks, embedding)."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        pil = decode(data)
    except Exception as e:  # noqa: BLE001 - a bad file is a line, as in the scan
        return {"image": path, "error": str(e)}
    found = detect(nets, pil)
    faces = found["faces"]
    line = {"image": path, "size": len(data), "width": found["width"], "height": found["height"], "model": "mobilefacenet"}
    if faces:
        image = torch.from_numpy(np.array(pil)).permute(2, 0, 1).unsqueeze(0).float()
        x = (align(image, [f["landmarks"] for f in faces]) - 127.5) / 128
        emb = F.normalize(embedder(x), dim=1)
        for f, e in zip(faces, emb):
            f["embedding"] = [float(v) for v in e]
    line["faces"] = faces
    return line


def main():
    ap = argparse.ArgumentParser(description="scan --embed in PyTorch: PIL, torch MTCNN, alignment, MobileFaceNet")
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--out")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    nets = load_nets()
    embedder = MobileFaceNet()
    paths = list(walk(args.inputs))
    out = args.out or tempfile.mktemp(suffix=".jsonl")
    faces = 0
    with torch.no_grad():
        for p in paths[: args.warmup]:
            scan_photo(nets, embedder, p)
        t = time.perf_counter()
        with open(out, "w") as f:
            for p in paths:
                line = scan_photo(nets, embedder, p)
                faces += len(line.get("faces", []))
                f.write(json.dumps(line) + "\n")
        seconds = time.perf_counter() - t
    if not args.out:
        os.remove(out)
    result = {"torch": torch.__version__, "threads": args.threads, "images": len(paths), "faces": faces,
              "seconds": seconds, "imagesPerSecond": len(paths) / seconds}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{len(paths)} images, {faces} faces in {seconds:.1f} s: {result['imagesPerSecond']:.2f} images/s "
              f"(torch {torch.__version__}, {args.threads} thread(s))")


if __name__ == "__main__":
    sys.exit(main())
