// Every backward op of the CPU backend against torch.autograd, case by case (fixture:
// tools/reference/backward_ops.py), on the TypeScript reference and the SIMD paths, 1 and 2 threads.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import { backwardCases, compareGradients, runBackwardCase } from './helpers/backwardCases.ts';

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
