// Triplet loss value, gradient and triplet mining against PyTorch (tools/reference/triplet.py).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchHardTriplets, semiHardTriplets, tripletLoss, type Triplet } from '../src/pipeline/triplet.ts';
import { Tensor } from '../src/tensor/tensor.ts';
import { assertClose } from './helpers/compare.ts';
import { loadFixture } from './helpers/fixtures.ts';

const f = loadFixture('triplet.safetensors');
const margin = Number(f.metadata.margin);
const x = f.tensors.get('embeddings')!;
const d = x.shape[1];
const rows = Array.from({ length: x.shape[0] }, (_, i) => x.data.subarray(i * d, (i + 1) * d));
const labels = Array.from(f.tensors.get('labels')!.data);

function triplets(name: string): Triplet[] {
  const t = f.tensors.get(`${name}.triplets`)!;
  return Array.from({ length: t.shape[0] }, (_, i) => [t.data[3 * i], t.data[3 * i + 1], t.data[3 * i + 2]] as Triplet);
}

for (const [name, mine] of [['hard', batchHardTriplets], ['semi', semiHardTriplets]] as const) {
  test(`${name === 'hard' ? 'batch-hard' : 'semi-hard'} triplets, loss and gradient equal PyTorch's`, () => {
    const chosen = mine(rows, labels);
    assert.deepEqual(chosen, triplets(name));
    const r = tripletLoss(chosen.map((t) => rows[t[0]]), chosen.map((t) => rows[t[1]]), chosen.map((t) => rows[t[2]]), margin);
    assert.ok(Math.abs(r.loss - f.tensors.get(`${name}.loss`)!.data[0]) <= 1e-6, `loss ${r.loss}`);
    const n = chosen.length;
    for (const [key, grad] of [['grad_anchor', r.gradAnchor], ['grad_positive', r.gradPositive], ['grad_negative', r.gradNegative]] as const) {
      assertClose(`${name}.${key}`, new Tensor([n, d], Float32Array.from(grad.flatMap((g) => Array.from(g)))), f.tensors.get(`${name}.${key}`)!);
    }
  });
}

test('a triplet already separated by the margin contributes nothing', () => {
  const r = tripletLoss([[0, 0]], [[0.1, 0]], [[2, 0]], 0.2);
  assert.equal(r.loss, 0);
  assert.equal(r.active, 0);
  assert.deepEqual(Array.from(r.gradAnchor[0]), [0, 0]);
});
