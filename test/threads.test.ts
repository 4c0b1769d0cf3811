// The CPU backend's thread sharing: every op that splits work between threads gives exactly
// the bits one thread gives, whatever share each thread happens to take (shares are handed
// out from a counter, so the split differs from run to run).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import type { Tensor } from '../src/tensor/tensor.ts';
import { seeded } from './helpers/seeded.ts';

const one = new CpuBackend({ threads: 1 });
// Both ways of handing a share to a worker: the mailbox the worker watches (the default) and messages.
const HANDOFFS = ['spin', 'message'] as const;
const twos = HANDOFFS.map((handoff) => new CpuBackend({ threads: 2, handoff, shareOpsFromMacs: 1_500_000 }));
after(async () => {
  await one.dispose();
  for (const two of twos) await two.dispose();
});

function assertSameBits(name: string, a: Tensor, b: Tensor): void {
  assert.deepEqual(a.shape, b.shape, name);
  for (let i = 0; i < a.size; i++) {
    if (!Object.is(a.data[i], b.data[i])) assert.fail(`${name}: element ${i} is ${b.data[i]} on 2 threads, ${a.data[i]} on 1`);
  }
}

// Each case is above the threading threshold `two` is given (1.5 M multiply-adds; by default 1 M
// with the spin hand-off, 50 M with messages).
for (const [h, handoff] of HANDOFFS.entries()) {
  const two = twos[h];
  test(`convolutions shared between threads equal one thread bit for bit (padding, strides, 1x1, batches, PReLU; ${handoff} hand-off)`, async () => {
    const cases = [
      { x: [1, 3, 97, 131], w: [10, 3, 3, 3], o: {} },
      { x: [5, 16, 33, 29], w: [32, 16, 3, 3], o: { padding: 1 } },
      { x: [3, 24, 41, 37], w: [20, 24, 3, 3], o: { stride: 2, padding: 1 } },
      { x: [9, 32, 30, 30], w: [6, 32, 1, 1], o: {} },
      { x: [4, 24, 60, 61], w: [24, 1, 3, 3], o: { groups: 24, padding: 1 } },
      { x: [9, 8, 27, 27], w: [16, 4, 5, 5], o: { groups: 2, padding: 2 } },
      // One item's small maps, one to three pixel chunks: cut by output channels too
      // (convSlices.ts), a count of channels that is not a multiple of the 4-row blocks included.
      { x: [1, 256, 12, 12], w: [96, 256, 1, 1], o: {} },
      { x: [1, 256, 7, 7], w: [130, 256, 1, 1], o: {} },
      { x: [1, 64, 14, 14], w: [128, 64, 3, 3], o: { stride: 2, padding: 1 } },
      { x: [1, 32, 12, 12], w: [64, 32, 5, 5], o: { padding: 2 } },
      // One item's convs with more weights than input: cut by channels although they have
      // pixel chunks enough (Winograd's 16 runs of rows per slice among them).
      { x: [1, 64, 24, 24], w: [192, 64, 3, 3], o: { padding: 1 } },
      { x: [1, 160, 3, 3], w: [258, 160, 3, 3], o: { padding: 1 } },
      { x: [1, 640, 6, 6], w: [256, 640, 1, 1], o: {} },
      { x: [1, 48, 20, 20], w: [100, 48, 5, 5], o: { padding: 2 } },
    ];
    for (const [k, c] of cases.entries()) {
      const x = seeded(c.x, 100 + k);
      const w = seeded(c.w, 200 + k);
      const bias = seeded([c.w[0]], 300 + k);
      const alpha = seeded([c.w[0]], 400 + k);
      const options = { ...c.o, activation: { kind: 'prelu' as const, alpha } };
      assertSameBits(`conv ${JSON.stringify(c)}`, await one.conv2d(x, w, bias, options), await two.conv2d(x, w, bias, options));
    }
  });

  test(`softmax, dense and max pooling shared between threads equal one thread bit for bit (${handoff} hand-off)`, async () => {
    const map = seeded([2, 2, 150, 170], 7);
    for (let i = 0; i < map.size; i += 97) map.data[i] *= 40; // saturated logits, where exp matters
    assertSameBits('softmax map', await one.softmax(map), await two.softmax(map));
    // Two channels on SIMD stay on one thread; three channels (or the TypeScript path) are shared.
    const three = seeded([2, 3, 150, 170], 17);
    assertSameBits('softmax map of 3 channels', await one.softmax(three), await two.softmax(three));
    const scalarOne = new CpuBackend({ threads: 1, simd: false });
    const scalarTwo = new CpuBackend({ threads: 2, simd: false, handoff, shareOpsFromMacs: 1_500_000 });
    try {
      assertSameBits('softmax map, TypeScript path', await scalarOne.softmax(map), await scalarTwo.softmax(map));
    } finally {
      await scalarOne.dispose();
      await scalarTwo.dispose();
    }
    const rows = seeded([40000, 2], 8);
    assertSameBits('softmax rows', await one.softmax(rows), await two.softmax(rows));
    const f = seeded([200, 576], 9);
    const w = seeded([128, 576], 10);
    const b = seeded([128], 11);
    assertSameBits('dense b200', await one.dense(f, w, b), await two.dense(f, w, b));
    const p = seeded([64, 28, 22, 22], 12);
    const options = { kernel: 3, stride: 2, ceilMode: true };
    assertSameBits('maxPool2d', await one.maxPool2d(p, options), await two.maxPool2d(p, options));
  });
}
