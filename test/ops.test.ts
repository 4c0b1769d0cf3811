// Every op of the CPU backend against PyTorch, case by case (fixtures: tools/reference/ops.py).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import { Tensor } from '../src/tensor/tensor.ts';
import { assertClose } from './helpers/compare.ts';
import { cases, runCase, t } from './helpers/opCases.ts';

// Both GEMMs: the WebAssembly SIMD kernel (the default) and the plain TypeScript one.
for (const [threads, simd] of [[1, true], [2, true], [1, false], [2, false]] as const) {
  describe(`CPU backend (${threads} thread${threads > 1 ? 's' : ''}, ${simd ? 'wasm SIMD' : 'TypeScript'} GEMM) against PyTorch`, () => {
    const backend = new CpuBackend({ threads, simd });
    test('runs the GEMM it was asked for', () => assert.equal(backend.simd, simd));
    after(() => backend.dispose());
    for (const c of cases) {
      test(`${c.op}: ${c.name}`, async () => {
        assertClose(c.name, await runCase(backend, c), t(c, 'output'));
      });
    }
  });
}

test('the fixture covers every backend op', () => {
  const ops = new Set(cases.map((c) => c.op));
  for (const op of ['conv2d', 'relu', 'prelu', 'maxPool2d', 'avgPool2d', 'l2Pool2d', 'lrn', 'batchNorm', 'convBatchNormFold', 'dense', 'softmax', 'concat', 'add', 'l2Normalize', 'pad2d']) {
    if (!ops.has(op)) throw new Error(`no fixture case for ${op}`);
  }
});

for (const simd of [true, false]) test(`a conv with its activation fused gives exactly the unfused values (${simd ? 'SIMD' : 'TypeScript'} GEMM)`, async () => {
  const backend = new CpuBackend({ threads: 1, simd });
  for (const c of cases.filter((c) => c.op === 'conv2d')) {
    const w = t(c, 'weight');
    const bias = c.params.includes('bias') ? t(c, 'bias') : null;
    const plain = await backend.conv2d(t(c, 'input'), w, bias, c.options);
    const alpha = Tensor.fromArray([w.shape[0]], Array.from({ length: w.shape[0] }, (_, i) => 0.1 * i - 0.3));
    const prelu = await backend.conv2d(t(c, 'input'), w, bias, { ...c.options, activation: { kind: 'prelu', alpha } });
    const relu = await backend.conv2d(t(c, 'input'), w, bias, { ...c.options, activation: { kind: 'relu' } });
    assert.deepEqual(prelu.data, (await backend.prelu(plain, alpha)).data, c.name);
    assert.deepEqual(relu.data, (await backend.relu(plain)).data, c.name);
  }
  await backend.dispose();
});
