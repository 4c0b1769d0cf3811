// What the threading suites share: outputs compared bit for bit (Object.is, so -0 and NaN count),
// and nets with small seeded weights for checking bits, not faces.
import assert from 'node:assert/strict';
import type { Net } from '../../src/nets/net.ts';
import type { Tensor } from '../../src/tensor/tensor.ts';
import { seeded } from './seeded.ts';

export function assertSameBits(name: string, a: Record<string, Tensor>, b: Record<string, Tensor>): void {
  assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort(), name);
  for (const head of Object.keys(a)) {
    assert.deepEqual(b[head].shape, a[head].shape, `${name} ${head}`);
    for (let i = 0; i < a[head].size; i++) {
      if (!Object.is(a[head].data[i], b[head].data[i])) assert.fail(`${name} ${head}: element ${i} is ${b[head].data[i]} on 2 threads, ${a[head].data[i]} on 1`);
    }
  }
}

/** A net with small seeded weights (variances positive), enough to check bits, not faces. */
export function seededNet(net: Net, seed: number): Net {
  const tensors = new Map<string, Tensor>();
  for (const [k, spec] of net.expectedTensors().entries()) {
    const t = seeded([...spec.shape], seed + k);
    for (let i = 0; i < t.size; i++) t.data[i] = /variance$/.test(spec.name) ? 0.5 + Math.abs(t.data[i]) : 0.1 * t.data[i];
    tensors.set(spec.name, t);
  }
  return net.load(tensors, 'seeded');
}
