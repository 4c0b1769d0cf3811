// The CPU backend's fast backward paths for the non-conv ops (SIMD ReLU and PReLU, LRN by planes)
// against its TypeScript reference (simd: false), on random shapes: planes and arrays whose sizes
// leave a tail past the last vector of 4, span several of the chunks copied through the wasm
// memory, or fall back to the reference (planes under 4 values); exact zeros where the ops branch.
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

describe('LRN backward by planes against the TypeScript reference', () => {
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
