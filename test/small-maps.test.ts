// Convs whose output map is small (R-Net's last conv: 3x3 per crop) run several batch items
// through one GEMM (smallMapItems, simdConv.ts). Each output must be the same sum in the same
// order as when items run one at a time: the same float32 bits (Object.is) over random shapes,
// strides, padding, 1x1 convs, activations, FMA, any split of the tasks, and through the backend
// on one and two threads.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import { chunkFor, convReduction, convTaskCount, packConvWeights, smallMapItems, type ConvPlan } from '../src/tensor/cpu/conv2d.ts';
import { simdConvTasks } from '../src/tensor/cpu/simdConv.ts';
import { simdGemmSupported } from '../src/tensor/cpu/simdGemm.ts';
import { seeded, seededValues } from './helpers/seeded.ts';

const fmaAvailable = simdGemmSupported(true);

interface Case {
  n: number; cIn: number; h: number; w: number; cOut: number; k: number; stride: number; pad: number;
  activation: 0 | 1 | 2; bias: boolean; fma: boolean;
}

function planOf(c: Case): ConvPlan {
  const outH = Math.floor((c.h + 2 * c.pad - c.k) / c.stride) + 1;
  const outW = Math.floor((c.w + 2 * c.pad - c.k) / c.stride) + 1;
  const p: ConvPlan = {
    n: c.n, cIn: c.cIn, inH: c.h, inW: c.w, cOut: c.cOut, kH: c.k, kW: c.k, strideH: c.stride, strideW: c.stride,
    padTop: c.pad, padLeft: c.pad, outH, outW, groups: 1, chunk: 0, activation: c.activation, simd: true, fma: c.fma,
  };
  p.chunk = chunkFor(convReduction(p));
  return p;
}

/** The conv with items sharing GEMMs (tasks split at `cuts`) and one item at a time: the same bits. */
function compare(name: string, c: Case, seed: number, cuts: number[] = []): void {
  const p = planOf(c);
  const items = smallMapItems(p);
  assert.ok(items >= 2, `${name}: expected a small map (${p.outH}x${p.outW}, chunk ${p.chunk})`);
  const x = seededValues(c.n * c.cIn * c.h * c.w, seed).map((v) => 4 * v);
  const packed = packConvWeights(p, seededValues(c.cOut * c.cIn * c.k * c.k, seed + 1));
  const bias = c.bias ? seededValues(c.cOut, seed + 2) : null;
  const alpha = c.activation === 2 ? seededValues(c.cOut, seed + 3) : null;
  const size = c.n * c.cOut * p.outH * p.outW;
  const want = new Float32Array(size).fill(NaN);
  const got = new Float32Array(size).fill(NaN);
  simdConvTasks(p, x, packed, bias, want, alpha, 0, convTaskCount(p));
  const packedPlan = { ...p, items };
  const total = convTaskCount(packedPlan);
  assert.equal(total, Math.ceil(c.n / items));
  const bounds = [0, ...cuts.filter((t) => t > 0 && t < total), total];
  for (let i = 0; i + 1 < bounds.length; i++) simdConvTasks(packedPlan, x, packed, bias, got, alpha, bounds[i], bounds[i + 1]);
  for (let i = 0; i < size; i++) {
    if (!Object.is(want[i], got[i])) assert.fail(`${name}: element ${i} is ${got[i]}, one item at a time gives ${want[i]}`);
  }
}

test('batch items sharing a GEMM give the bits of one item at a time (MTCNN and FaceNet shapes)', () => {
  const base = { activation: 2, bias: true, fma: false } as const;
  compare('R-Net conv3 256x48x4x4 -> 64 2x2', { ...base, n: 256, cIn: 48, h: 4, w: 4, cOut: 64, k: 2, stride: 1, pad: 0 }, 1);
  compare('O-Net conv4 64x64x4x4 -> 128 2x2', { ...base, n: 64, cIn: 64, h: 4, w: 4, cOut: 128, k: 2, stride: 1, pad: 0 }, 2);
  compare('inception 5a 1x1 on 3x3 maps', { ...base, activation: 1, n: 9, cIn: 96, h: 3, w: 3, cOut: 36, k: 1, stride: 1, pad: 0 }, 3);
  compare('padded 3x3 on 5x5 maps', { ...base, n: 7, cIn: 12, h: 5, w: 5, cOut: 10, k: 3, stride: 1, pad: 1 }, 4);
  compare('stride 2, padded, 7x7 -> 4x4', { ...base, activation: 0, bias: false, n: 5, cIn: 8, h: 7, w: 7, cOut: 9, k: 3, stride: 2, pad: 1 }, 5);
  if (fmaAvailable) compare('R-Net conv3 with FMA', { ...base, fma: true, n: 37, cIn: 48, h: 4, w: 4, cOut: 64, k: 2, stride: 1, pad: 0 }, 6);
});

test('random small maps, split anywhere, give the same bits', () => {
  const u = seededValues(4000, 99).map((v) => v + 0.5);
  let at = 0;
  const pick = (lo: number, hi: number) => lo + Math.floor(u[at++ % u.length] * (hi - lo + 1));
  let checked = 0;
  for (let i = 0; checked < 150; i++) {
    const k = pick(1, 3);
    const c: Case = {
      n: pick(2, 40), cIn: pick(1, 40), h: pick(k, 7), w: pick(k, 7), cOut: pick(1, 30), k, stride: pick(1, 3), pad: pick(0, k - 1),
      activation: pick(0, 2) as 0 | 1 | 2, bias: pick(0, 1) === 1, fma: fmaAvailable && pick(0, 3) === 0,
    };
    if (c.h + 2 * c.pad < k || c.w + 2 * c.pad < k || smallMapItems(planOf(c)) < 2) continue;
    const total = Math.ceil(c.n / smallMapItems(planOf(c)));
    const cuts = Array.from({ length: pick(0, 3) }, () => pick(0, total)).sort((a, b) => a - b);
    compare(`case ${i} ${JSON.stringify(c)} cut at ${cuts}`, c, 1000 + i, cuts);
    checked++;
  }
});

test('smallMapItems leaves large maps, single items, grouped convs and the TypeScript path one item at a time', () => {
  const small = planOf({ n: 8, cIn: 16, h: 4, w: 4, cOut: 8, k: 2, stride: 1, pad: 0, activation: 0, bias: false, fma: false });
  assert.ok(smallMapItems(small) >= 2);
  assert.equal(smallMapItems({ ...small, n: 1 }), 0);
  assert.equal(smallMapItems({ ...small, simd: false }), 0);
  assert.equal(smallMapItems({ ...small, groups: 2 }), 0);
  assert.equal(smallMapItems({ ...small, outH: 40, outW: 40 }), 0);
  assert.ok(smallMapItems({ ...small, n: 3 }) <= 3);
});

const one = new CpuBackend({ threads: 1 });
const two = new CpuBackend({ threads: 2, shareOpsFromMacs: 1 });
after(async () => {
  await one.dispose();
  await two.dispose();
});

test('through the backend, one and two threads give the same bits on small maps', async () => {
  for (const [shape, wShape, options] of [
    [[256, 48, 4, 4], [64, 48, 2, 2], {}],
    [[33, 64, 3, 3], [40, 64, 3, 3], { padding: 1 }],
    [[20, 32, 3, 3], [24, 32, 1, 1], {}],
  ] as const) {
    const x = seeded(shape, 7);
    const w = seeded(wShape, 8);
    const b = seeded([wShape[0]], 9);
    const a = await one.conv2d(x, w, b, options);
    const c = await two.conv2d(x, w, b, options);
    for (let i = 0; i < a.size; i++) {
      if (!Object.is(a.data[i], c.data[i])) assert.fail(`${shape} * ${wShape}: element ${i} is ${c.data[i]} on two threads, ${a.data[i]} on one`);
    }
  }
});
