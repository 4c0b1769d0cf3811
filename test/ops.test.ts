// Every op of the CPU backend against PyTorch, case by case (fixtures: tools/reference/ops.py).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Backend } from '../src/tensor/backend.ts';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import { foldBatchNorm } from '../src/tensor/foldBatchNorm.ts';
import { Tensor } from '../src/tensor/tensor.ts';
import { assertClose } from './helpers/compare.ts';
import { loadFixture } from './helpers/fixtures.ts';

interface Case {
  name: string;
  op: string;
  options: Record<string, any>;
  inputs: string[];
  params: string[];
}

const fixture = loadFixture('ops.safetensors');
const cases: Case[] = JSON.parse(fixture.metadata.cases);
const t = (c: Case, k: string): Tensor => fixture.tensors.get(`${c.name}.${k}`)!;

export async function runCase(backend: Backend, c: Case): Promise<Tensor> {
  const x = t(c, 'input');
  const o = c.options;
  switch (c.op) {
    case 'conv2d':
      return backend.conv2d(x, t(c, 'weight'), c.params.includes('bias') ? t(c, 'bias') : null, o);
    case 'maxPool2d':
    case 'avgPool2d':
    case 'l2Pool2d':
      return backend[c.op as 'maxPool2d'](x, o as any);
    case 'lrn':
      return backend.lrn(x, o as any);
    case 'prelu':
      return backend.prelu(x, t(c, 'alpha'));
    case 'relu':
      return backend.relu(x);
    case 'batchNorm':
      return backend.batchNorm(x, { mean: t(c, 'mean'), variance: t(c, 'variance'), gamma: t(c, 'weight'), beta: t(c, 'bias'), eps: o.eps });
    case 'convBatchNormFold': {
      const folded = foldBatchNorm(t(c, 'weight'), t(c, 'bias'), {
        mean: t(c, 'bn_mean'), variance: t(c, 'bn_variance'), gamma: t(c, 'bn_weight'), beta: t(c, 'bn_bias'), eps: o.eps,
      });
      return backend.conv2d(x, folded.weight, folded.bias, { padding: o.padding });
    }
    case 'dense':
      return backend.dense(x, t(c, 'weight'), t(c, 'bias'));
    case 'softmax':
      return backend.softmax(x);
    case 'l2Normalize':
      return backend.l2Normalize(x, 1e-12);
    case 'concat':
      return backend.concat([x, t(c, 'input1'), t(c, 'input2')]);
    case 'add':
      return backend.add(x, t(c, 'input1'));
    case 'pad2d':
      return backend.pad2d(x, o.padding);
    default:
      throw new Error(`unknown op ${c.op}`);
  }
}

for (const threads of [1, 2]) {
  describe(`CPU backend (${threads} thread${threads > 1 ? 's' : ''}) against PyTorch`, () => {
    const backend = new CpuBackend({ threads });
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

test('a conv with its activation fused gives exactly the unfused values', async () => {
  const backend = new CpuBackend({ threads: 1 });
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
