// Weights changed in place (an optimiser's step) reach the next forward pass on every backend,
// though backends keep packed, transformed and shared copies of weights and whole recorded
// passes keyed by the weight tensor: parametersChanged() drops them.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { MobileFaceNet } from '../src/nets/mobilefacenet.ts';
import type { Net } from '../src/nets/net.ts';
import type { Backend } from '../src/tensor/backend.ts';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import { GpujsBackend } from '../src/tensor/gpujs/backend.ts';
import { parametersChanged, Tensor } from '../src/tensor/tensor.ts';
import { seeded } from './helpers/seeded.ts';

const reference = new CpuBackend({ threads: 1, simd: false });
const backends: [string, Backend][] = [
  ['cpu 1 thread', new CpuBackend({ threads: 1 })],
  // Splits every batch: the pass a worker replays is a recorded tape holding copies of the weights.
  ['cpu 2 threads', new CpuBackend({ threads: 2, splitBatchesFromMs: 0 })],
  ['gpujs cpu (fused plans)', new GpujsBackend({ mode: 'cpu' })],
];
after(async () => {
  for (const [, b] of backends) await b.dispose();
  await reference.dispose();
});

function seededNet(net: Net, seed: number): Net {
  const tensors = new Map<string, Tensor>();
  for (const [k, spec] of net.expectedTensors().entries()) {
    const t = seeded([...spec.shape], seed + k);
    const fanIn = spec.shape.length > 1 ? spec.shape.slice(1).reduce((a, b) => a * b, 1) : 1;
    for (let i = 0; i < t.size; i++) t.data[i] *= spec.name.endsWith('prelu.alpha') ? 0.25 : 1 / Math.sqrt(fanIn);
    tensors.set(spec.name, t);
  }
  return net.load(tensors, 'seeded');
}

function maxDiff(a: Tensor, b: Tensor): number {
  let m = 0;
  for (let i = 0; i < a.size; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return m;
}

test('a net whose weights change in place gives the new weights\' outputs on every backend', async () => {
  const net = seededNet(MobileFaceNet(), 40);
  // Two faces: enough for the two-thread backend to split the batch between its threads.
  const x = seeded([2, 3, 112, 112], 41);
  for (const [label, backend] of backends) {
    // Twice: the first pass records or packs, the second uses what was kept.
    await net.forward(backend, x);
    const before = (await net.forward(backend, x)).output;
    for (const { tensor } of net.expectedTensors().map((e) => ({ tensor: findParam(net, e.name) }))) {
      for (let i = 0; i < tensor.size; i++) tensor.data[i] *= 1.01;
    }
    parametersChanged();
    const after = (await net.forward(backend, x)).output;
    const want = (await net.forward(reference, x)).output;
    assert.ok(maxDiff(before, want) > 1e-3, `${label}: the change is visible in the output`);
    assert.ok(maxDiff(after, want) < 1e-4 * Math.max(1, ...Array.from(want.data, Math.abs)), `${label}: the pass after the change uses the changed weights`);
    // Undo for the next backend.
    for (const e of net.expectedTensors()) {
      const t = findParam(net, e.name);
      for (let i = 0; i < t.size; i++) t.data[i] /= 1.01;
    }
    parametersChanged();
  }
});

/** The bound tensor of a weights-file name. */
function findParam(net: Net, name: string): Tensor {
  const all = net.parameters();
  const p = all.find((q) => q.name === name);
  if (!p) throw new Error(`no parameter ${name}`);
  return p.tensor;
}
