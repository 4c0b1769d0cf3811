// The CPU backend's fast backward paths (SIMD ReLU, PReLU, LRN and depthwise 3x3 dW; max pool,
// batch norm and channel sums in tighter TypeScript) against its TypeScript reference (simd:
// false), on random shapes: planes and arrays whose sizes leave a tail past the last vector of 4,
// span several of the chunks copied through the wasm memory, or fall back to the reference
// (planes under 4 values); exact zeros, ties and NaNs where the ops branch.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import type { Tensor } from '../src/tensor/tensor.ts';
import { compareGradient } from './helpers/backwardCases.ts';
import { seeded } from './helpers/seeded.ts';

const reference = new CpuBackend({ simd: false, threads: 1 });
const fast = [new CpuBackend({ threads: 1 }), new CpuBackend({ threads: 2, shareOpsFromMacs: 0 })];
after(() => Promise.all([reference, ...fast].map((b) => b.dispose())));

/** Every third value set to exactly 0: ReLU and PReLU take the x <= 0 side there. */
function withZeros(t: Tensor): Tensor {
  for (let i = 0; i < t.size; i += 3) t.data[i] = 0;
  return t;
}

function assertClose(label: string, got: Tensor, want: Tensor): void {
  const check = compareGradient(label, got, want);
  assert.ok(check.ok, `${label}: max rel ${check.maxRel.toExponential(2)}; ${check.problem}`);
}

const shapes: number[][] = [
  [2, 3, 7, 7], // planes of 49: a tail of 1
  [32, 5, 1, 3], // planes under 4 values: the reference
  [4, 6, 5, 6],
  [3, 10, 70, 70], // chunks of several planes
  [1, 2, 200, 201], // a plane larger than a chunk
  [5, 7], // [N, C]
  [1, 1, 1, 32770], // a chunk, then 2 values
];

describe('ReLU and PReLU backward (SIMD) against the TypeScript reference', () => {
  for (const [i, shape] of shapes.entries()) {
    test(`[${shape.join(', ')}]`, async () => {
      const x = withZeros(seeded(shape, 10 + i));
      const dy = seeded(shape, 20 + i);
      const alpha = seeded([shape[1]], 30 + i);
      const y = await reference.relu(x);
      const wantRelu = await reference.reluBackward(y, dy);
      const want = await reference.preluBackward(x, alpha, dy);
      for (const backend of fast) {
        assertClose(`${backend.threads} threads relu dx`, await backend.reluBackward(y, dy), wantRelu);
        const got = await backend.preluBackward(x, alpha, dy);
        assertClose(`${backend.threads} threads prelu dx`, got.dx, want.dx);
        assertClose(`${backend.threads} threads prelu dAlpha`, got.dAlpha, want.dAlpha);
      }
    });
  }
});

describe('LRN backward (SIMD for beta 0.75, by planes otherwise) against the TypeScript reference', () => {
  // [shape, size, alpha, beta, k]: FaceNet's (beta 0.75: sqrt for the power), an even window, another beta.
  const cases: [number[], number, number, number, number][] = [
    [[2, 7, 5, 6], 5, 1e-4, 0.75, 1],
    [[3, 12, 9, 9], 5, 0.5, 0.75, 2],
    [[2, 9, 4, 3], 4, 0.3, 0.6, 1],
    [[1, 3, 1, 2], 5, 0.2, 0.75, 1],
    [[4, 64, 12, 12], 5, 1e-4, 0.75, 1],
  ];
  for (const [i, [shape, size, alpha, beta, k]] of cases.entries()) {
    test(`[${shape.join(', ')}] size ${size} alpha ${alpha} beta ${beta} k ${k}`, async () => {
      const x = withZeros(seeded(shape, 40 + i));
      for (let j = 0; j < x.size; j++) x.data[j] *= 4;
      const dy = seeded(shape, 50 + i);
      const options = { size, alpha, beta, k };
      const y = await reference.lrn(x, options);
      const want = await reference.lrnBackward(x, y, dy, options);
      for (const backend of fast) assertClose(`${backend.threads} threads lrn dx`, await backend.lrnBackward(x, y, dy, options), want);
    });
  }
});

describe('max pool backward (unrolled 3x3 windows) against the TypeScript reference', () => {
  // [shape, kernel, stride, padding, ceilMode]: nn4.small2's pools, windows clipped by padding and
  // ceil mode beside whole ones, a kernel that is not 3x3.
  const cases: [number[], number, number, number, boolean][] = [
    [[2, 3, 13, 13], 3, 2, 1, false],
    [[2, 4, 12, 12], 3, 2, 0, true],
    [[1, 5, 9, 10], 3, 1, 1, false],
    [[2, 2, 8, 8], 2, 2, 0, false],
    [[1, 3, 11, 7], 5, 3, 2, true],
  ];
  for (const [i, [shape, kernel, stride, padding, ceilMode]] of cases.entries()) {
    test(`[${shape.join(', ')}] k${kernel} s${stride} p${padding}${ceilMode ? ' ceil' : ''}`, async () => {
      const x = seeded(shape, 60 + i);
      // Ties (zeros from a ReLU, equal values), an -infinity and NaNs: the reference's rule decides.
      for (let j = 0; j < x.size; j += 4) x.data[j] = 0;
      for (let j = 1; j < x.size; j += 7) x.data[j] = 0.25;
      x.data[2] = -Infinity;
      x.data[x.size >> 1] = NaN;
      x.data[(x.size >> 1) + 1] = NaN;
      const options = { kernel, stride, padding, ceilMode };
      const y = await reference.maxPool2d(x, options);
      const dy = seeded(y.shape, 70 + i);
      const want = await reference.maxPool2dBackward(x, dy, options);
      for (const backend of fast) assertClose(`${backend.threads} threads max pool dx`, await backend.maxPool2dBackward(x, dy, options), want);
    });
  }
});

describe('batch norm and channel sums (unrolled) against the TypeScript reference', () => {
  const shapes: number[][] = [[3, 5, 7, 9], [2, 4, 6, 6], [4, 3], [2, 6, 1, 3], [8, 16, 12, 12]];
  for (const [i, shape] of shapes.entries()) {
    for (const training of [true, false]) {
      test(`[${shape.join(', ')}] ${training ? 'training' : 'eval'} mode`, async () => {
        const x = seeded(shape, 80 + i);
        for (let j = 0; j < x.size; j++) x.data[j] = 3 + 2 * x.data[j];
        const dy = seeded(shape, 90 + i);
        const gamma = seeded([shape[1]], 100 + i);
        const stats = await reference.batchStats(x);
        const want = await reference.batchNormBackward(x, dy, { gamma, ...stats, eps: 1e-5, training });
        const wantSum = await reference.sumChannels(dy);
        for (const backend of fast) {
          const got = await backend.batchStats(x);
          assertClose(`${backend.threads} threads mean`, got.mean, stats.mean);
          assertClose(`${backend.threads} threads variance`, got.variance, stats.variance);
          const grads = await backend.batchNormBackward(x, dy, { gamma, ...stats, eps: 1e-5, training });
          assertClose(`${backend.threads} threads dx`, grads.dx, want.dx);
          assertClose(`${backend.threads} threads dGamma`, grads.dGamma, want.dGamma);
          assertClose(`${backend.threads} threads dBeta`, grads.dBeta, want.dBeta);
          assertClose(`${backend.threads} threads sumChannels`, await backend.sumChannels(dy), wantSum);
        }
      });
    }
  }
});

describe('depthwise 3x3 dW (SIMD) against the TypeScript reference', () => {
  // [n, channels, h, w, stride, padding]: MobileFaceNet's (padding 1 at stride 1, TensorFlow's
  // SAME [0, 1, 0, 1] at stride 2), none, uneven and wider than the kernel reaches; odd sizes at
  // stride 2; widths that are and are not whole vectors of 4.
  const cases: [number, number, number, number, number, number | [number, number, number, number]][] = [
    [2, 5, 9, 9, 1, 1],
    [3, 4, 8, 12, 1, 1],
    [2, 3, 7, 6, 1, 0],
    [2, 6, 10, 7, 1, [0, 1, 0, 1]],
    [1, 4, 5, 11, 1, [2, 0, 1, 3]],
    [4, 16, 14, 14, 1, 1],
    [2, 6, 16, 16, 2, [0, 1, 0, 1]],
    [3, 5, 13, 11, 2, 1],
    [2, 4, 9, 14, 2, 0],
    [1, 3, 7, 9, 2, [2, 1, 3, 0]],
  ];
  for (const [i, [n, c, h, w, stride, padding]] of cases.entries()) {
    test(`n${n} ${c} channels ${h}x${w} stride ${stride} padding ${padding}`, async () => {
      const x = seeded([n, c, h, w], 110 + i);
      const weight = seeded([c, 1, 3, 3], 120 + i);
      const options = { stride, padding, groups: c };
      const y = await reference.conv2d(x, weight, null, options);
      const dy = seeded(y.shape, 130 + i);
      const want = await reference.conv2dBackwardWeight(x, dy, weight.shape, options);
      for (const backend of fast) assertClose(`${backend.threads} threads dW`, await backend.conv2dBackwardWeight(x, dy, weight.shape, options), want);
    });
  }
});
