// Every backward op of the CPU backend against torch.autograd, case by case (fixture:
// tools/reference/backward_ops.py), on the TypeScript reference and the SIMD paths, 1 and 2 threads.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import type { Padding } from '../src/tensor/geometry.ts';
import { backwardCases, compareGradient, compareGradients, runBackwardCase } from './helpers/backwardCases.ts';
import { seeded } from './helpers/seeded.ts';

const backends: [string, () => CpuBackend][] = [
  ['TypeScript reference, 1 thread', () => new CpuBackend({ simd: false, threads: 1 })],
  ['wasm SIMD, 1 thread', () => new CpuBackend({ threads: 1 })],
  // Every op large enough to share is shared: the fixture's are all small.
  ['wasm SIMD, 2 threads', () => new CpuBackend({ threads: 2, shareOpsFromMacs: 0 })],
];

for (const [label, make] of backends) {
  describe(`CPU backward ops (${label}) against torch.autograd`, () => {
    const backend = make();
    after(() => backend.dispose());
    for (const c of backwardCases) {
      test(`${c.op}: ${c.name}`, async () => {
        const checks = compareGradients(c, await runBackwardCase(backend, c));
        for (const k of checks) assert.ok(k.ok, `${c.name}.${k.key}: max rel ${k.maxRel.toExponential(2)}; ${k.problem}`);
      });
    }
  });
}

test('the fixture covers every backward op', () => {
  const ops = new Set(backwardCases.map((c) => c.op));
  for (const op of ['conv2d', 'relu', 'prelu', 'maxPool2d', 'avgPool2d', 'l2Pool2d', 'lrn', 'batchNorm', 'dense', 'softmax', 'l2Normalize', 'concat', 'pad2d', 'sumChannels']) {
    assert.ok(ops.has(op as never), `no fixture case for ${op}`);
  }
});

describe('conv backward fast paths against the TypeScript reference, on shapes of the nets', () => {
  const reference = new CpuBackend({ simd: false, threads: 1 });
  const fast = [new CpuBackend({ threads: 1 }), new CpuBackend({ threads: 2, shareOpsFromMacs: 0 })];
  after(() => Promise.all([reference, ...fast].map((b) => b.dispose())));
  // [n, cIn, h, w, cOut, k, stride, padding, groups]: odd sizes, chunks of pixels that cross
  // rows and items, channel counts that leave partial 4-row blocks.
  const shapes: [number, number, number, number, number, number | [number, number], number, Padding | number, number][] = [
    [2, 9, 33, 40, 6, 3, 1, 1, 1],
    [3, 13, 11, 9, 10, 3, 2, [0, 1, 0, 1], 1],
    [2, 64, 9, 7, 21, 1, 1, 0, 1],
    [2, 70, 6, 5, 130, 1, 1, 0, 1],
    [1, 3, 23, 21, 8, 7, 2, 3, 1],
    [2, 12, 8, 10, 16, 5, 1, 2, 1],
    [2, 8, 7, 6, 12, 3, 1, 1, 4],
    [2, 10, 13, 12, 10, 3, 1, 1, 10],
    [2, 10, 13, 12, 10, 3, 2, [0, 1, 0, 1], 10],
    [2, 7, 7, 7, 7, 7, 1, 0, 7],
    [1, 6, 10, 9, 6, [3, 2], 2, [1, 0, 2, 1], 6],
    [3, 5, 9, 9, 7, 3, 3, 0, 1],
    // Stride-1 3x3 with 8+ channels each way: dx runs as a forward Winograd conv.
    [2, 24, 12, 14, 40, 3, 1, 1, 1],
    [2, 16, 10, 9, 32, 3, 1, [0, 1, 0, 1], 1],
  ];
  for (const [i, [n, cIn, h, w, cOut, k, stride, padding, groups]] of shapes.entries()) {
    const [kH, kW] = typeof k === 'number' ? [k, k] : k;
    test(`n${n} ${cIn}->${cOut} ${h}x${w} k${kH}x${kW} s${stride} pad ${padding} groups ${groups}`, async () => {
      const x = seeded([n, cIn, h, w], 100 + i);
      const weight = seeded([cOut, cIn / groups, kH, kW], 200 + i);
      const options = { stride, padding, groups };
      const y = await reference.conv2d(x, weight, null, options);
      const dy = seeded(y.shape, 300 + i);
      const dx = await reference.conv2dBackwardInput(dy, weight, x.shape, options);
      const dw = await reference.conv2dBackwardWeight(x, dy, weight.shape, options);
      for (const backend of fast) {
        for (const [key, got, want] of [
          ['dx', await backend.conv2dBackwardInput(dy, weight, x.shape, options), dx],
          ['dweight', await backend.conv2dBackwardWeight(x, dy, weight.shape, options), dw],
        ] as const) {
          const check = compareGradient(key, got, want);
          assert.ok(check.ok, `${backend.threads} threads, ${key}: max rel ${check.maxRel.toExponential(2)}; ${check.problem}`);
        }
      }
    });
  }
});
