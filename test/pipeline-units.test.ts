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
