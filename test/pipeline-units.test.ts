import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cropRegion, square } from '../src/pipeline/boxes.ts';
import { pyramidScales } from '../src/pipeline/mtcnn.ts';
import { nmsMin, nmsUnion, type Box } from '../src/pipeline/nms.ts';
import { areaResizeNormalized, normalizePixel } from '../src/tensor/cpu/resample.ts';

const box = (x1: number, y1: number, x2: number, y2: number, score: number): Box => ({ x1, y1, x2, y2, score });

test("of two boxes with exactly equal scores, IoU NMS keeps the earlier (torchvision), 'Min' NMS the later (np.argsort)", () => {
  const boxes = [box(0, 0, 10, 10, 0.9), box(1, 1, 11, 11, 0.9), box(50, 50, 60, 60, 0.5)];
  assert.deepEqual(nmsUnion(boxes, 0.5), [0, 2]);
  assert.deepEqual(nmsMin(boxes, 0.7), [1, 2]);
});

test('NMS orders survivors by descending score', () => {
  const boxes = [box(0, 0, 10, 10, 0.2), box(20, 20, 30, 30, 0.9), box(40, 40, 50, 50, 0.5)];
  assert.deepEqual(nmsUnion(boxes, 0.5), [1, 2, 0]);
  assert.deepEqual(nmsMin(boxes, 0.5), [1, 2, 0]);
});

test("IoU NMS drops only overlaps above the threshold; 'Min' divides by the smaller area with +1", () => {
  // 10x10 inside 20x20: IoU 0.25 survives a 0.5 threshold; overlap/min = 1 does not survive 0.7.
  const boxes = [box(0, 0, 20, 20, 0.9), box(0, 0, 10, 10, 0.8)];
  assert.deepEqual(nmsUnion(boxes, 0.5), [0, 1]);
  assert.deepEqual(nmsMin(boxes, 0.7), [0]);
});

test('pyramid scales follow 12/minsize * factor^k while the short side stays >= 12', () => {
  const s = pyramidScales(1200, 630, 20, 0.709);
  assert.equal(s[0], 0.6);
  assert.ok(630 * s[s.length - 1] >= 12);
  assert.ok(630 * s[s.length - 1] * 0.709 < 12);
  assert.equal(Math.trunc(630 * s[0] + 1), 379);
  assert.deepEqual(pyramidScales(11, 400, 20, 0.709), []);
});

test('square keeps the centre and uses the larger side', () => {
  const b = box(10, 20, 30, 60, 1);
  square(b);
  assert.deepEqual([b.x1, b.y1, b.x2, b.y2], [0, 20, 40, 60]);
});

test('crops cover only the part of the box inside the image, truncated toward zero', () => {
  assert.deepEqual(cropRegion(box(-5.7, 3.9, 20.2, 200, 1), 100, 50), { x: 0, y: 2, width: 20, height: 48 });
  assert.equal(cropRegion(box(120, 10, 140, 30, 1), 100, 50), null);
});

test('area resampling averages the covered source pixels', () => {
  // 4x2 image (RGB) averaged to 2x1: each output covers a 2x2 block.
  const data = new Uint8Array([0, 0, 0, 10, 10, 10, 20, 20, 20, 30, 30, 30, 40, 40, 40, 50, 50, 50, 60, 60, 60, 70, 70, 70]);
  const out = new Float32Array(6);
  areaResizeNormalized({ width: 4, height: 2, data }, { x: 0, y: 0, width: 4, height: 2 }, 1, 2, out);
  assert.equal(out[0], normalizePixel(25));
  assert.equal(out[1], normalizePixel(45));
});

test('nmsUnion keeps what the pairwise definition keeps on random, tied, touching and empty boxes', () => {
  const f = Math.fround;
  // torchvision.ops.nms's definition, every pair computed: the spec the fast loop must match.
  const definition = (boxes: Box[], threshold: number): number[] => {
    const order = boxes.map((_, i) => i).sort((a, b) => boxes[b].score - boxes[a].score || a - b);
    const area = boxes.map((b) => f(f(b.x2 - b.x1) * f(b.y2 - b.y1)));
    const dropped = new Set<number>();
    const keep: number[] = [];
    for (const [a, i] of order.entries()) {
      if (dropped.has(i)) continue;
      keep.push(i);
      for (const j of order.slice(a + 1)) {
        const w = Math.max(0, f(Math.min(boxes[i].x2, boxes[j].x2) - Math.max(boxes[i].x1, boxes[j].x1)));
        const h = Math.max(0, f(Math.min(boxes[i].y2, boxes[j].y2) - Math.max(boxes[i].y1, boxes[j].y1)));
        const inter = f(w * h);
        if (f(inter / f(f(area[i] + area[j]) - inter)) > threshold) dropped.add(j);
      }
    }
    return keep;
  };
  let s = 12345;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  for (let trial = 0; trial < 300; trial++) {
    const boxes: Box[] = [];
    for (let k = 0; k < 1 + Math.floor(rnd() * 80); k++) {
      // Integer corners on a small grid make touching edges, equal boxes and zero areas common.
      const x1 = f(Math.floor(rnd() * 20) * (trial % 2 ? 1 : 0.37));
      const y1 = f(Math.floor(rnd() * 20) * (trial % 2 ? 1 : 0.37));
      const x2 = f(x1 + Math.floor(rnd() * 8));
      const y2 = f(y1 + Math.floor(rnd() * 8));
      boxes.push({ x1, y1, x2, y2, score: f(Math.floor(rnd() * 5) / 4) });
    }
    for (const threshold of [0, 0.3, 0.5, 0.7]) assert.deepEqual(nmsUnion(boxes, threshold), definition(boxes, threshold), `trial ${trial} threshold ${threshold}`);
  }
});
