// gpu.js's Winograd F(2x2, 3x3) convs (src/tensor/gpujs/winogradKernels.ts), in both layouts,
// run here in gpu.js's cpu mode, which executes the very kernel sources the GL shaders and WGSL
// are compiled from: packed (the GL plans') inside a plan, plain (WebGPU's, webasm's) op by op
// and inside a plan, against the CPU backend at the parity suite's bound. The browser suite runs
// them on WebGL2 and WebGPU through O-Net (and the bench through nn4.small2).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import { GpujsBackend } from '../src/tensor/gpujs/backend.ts';
import { gpuWinogradFits } from '../src/tensor/gpujs/winogradKernels.ts';
import type { Backend } from '../src/tensor/backend.ts';
import { Tensor } from '../src/tensor/tensor.ts';
import { assertClose } from './helpers/compare.ts';
import { seeded } from './helpers/seeded.ts';

const BOUND = 1e-5;

// Padded and not, odd maps (a last tile row or column half outside), channel counts that leave
// a partial group of four, a 3x3 map (one tile per 2x2 outputs, mostly outside), every activation.
const CASES: [number[], number[], number, 'none' | 'relu' | 'prelu'][] = [
  [[2, 32, 9, 7], [10, 32, 3, 3], 1, 'relu'],
  [[1, 35, 6, 6], [8, 35, 3, 3], 0, 'prelu'],
  [[3, 64, 5, 8], [13, 64, 3, 3], 1, 'none'],
  [[1, 33, 3, 3], [16, 33, 3, 3], 1, 'relu'],
];

describe('gpu.js Winograd 3x3 convs (cpu mode)', () => {
  const cpu = new CpuBackend({ threads: 1 });
  const packed = new GpujsBackend({ mode: 'cpu', packed: true });
  const plain = new GpujsBackend({ mode: 'cpu' });
  after(async () => {
    await Promise.all([cpu.dispose(), packed.dispose(), plain.dispose()]);
  });

  test('the cases take the Winograd path, and narrower, strided or grouped convs do not', () => {
    for (const [xs, ws] of CASES) assert.ok(gpuWinogradFits(xs[1], ws[0], 3, 3, 1, 1, 1), `${xs.join('x')} w ${ws.join('x')}`);
    assert.equal(gpuWinogradFits(28, 48, 3, 3, 1, 1, 1), false, 'R-Net: below 32 input channels');
    assert.equal(gpuWinogradFits(64, 64, 3, 3, 2, 2, 1), false, 'stride 2');
    assert.equal(gpuWinogradFits(64, 64, 3, 3, 1, 1, 64), false, 'depthwise');
    assert.equal(gpuWinogradFits(64, 64, 5, 5, 1, 1, 1), false, '5x5');
  });

  for (const [k, [xs, ws, padding, act]] of CASES.entries()) {
    test(`${xs.join('x')} w ${ws.join('x')} padding ${padding}, ${act}: packed in a plan, plain op by op and in a plan, equal the CPU backend`, async () => {
      const x = seeded(xs, 20 + k);
      const w = seeded(ws, 30 + k);
      const bias = seeded([ws[0]], 40 + k);
      const alpha = seeded([ws[0]], 50 + k);
      const activation = act === 'none' ? undefined : act === 'relu' ? { kind: 'relu' as const } : { kind: 'prelu' as const, alpha };
      const conv = (b: Backend, t: Tensor) => b.conv2d(t, w, bias, { padding, activation });
      const want = await conv(cpu, x);
      const label = `winograd ${xs.join('x')} w ${ws.join('x')} pad ${padding} ${act}`;
      assertClose(`packed ${label}`, (await packed.runGraph!({}, async (b, t) => ({ y: await conv(b, t) }), x)).y, want, BOUND, false);
      assertClose(`plain ${label}`, await conv(plain, x), want, BOUND, false);
      assertClose(`plain plan ${label}`, (await plain.runGraph!({}, async (b, t) => ({ y: await conv(b, t) }), x)).y, want, BOUND, false);
    });
  }

  test('the plain weights follow an in-place parameter update', async () => {
    const { parametersChanged } = await import('../src/tensor/tensor.ts');
    const x = seeded([1, 32, 5, 5], 60);
    const w = seeded([8, 32, 3, 3], 61);
    const before = await plain.conv2d(x, w, null, { padding: 1 });
    w.data.forEach((v, i) => (w.data[i] = -v));
    parametersChanged();
    const updated = await plain.conv2d(x, w, null, { padding: 1 });
    assertClose('negated weights', updated, new Tensor(before.shape, before.data.map((v) => -v)), BOUND, false);
  });
});
