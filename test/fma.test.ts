// The fused multiply-add path (CpuBackendOptions.fma: relaxed SIMD's f32x4.relaxed_madd in the
// direct and Winograd GEMMs and the dense layers) against the TypeScript reference, which sums in
// float64 and rounds once: its error is measured as a fraction of the sum of |products| it
// rounds, beside the default path's on the same cases, and must stay within the bound the
// Winograd path is held to. Threads split its work without changing a bit.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import type { Conv2dOptions } from '../src/tensor/geometry.ts';
import type { Tensor } from '../src/tensor/tensor.ts';
import { convMagnitude } from './helpers/convMagnitude.ts';
import { seeded } from './helpers/seeded.ts';

/** The Winograd path's bound (test/winograd.test.ts), which the fused path keeps to as well. */
const TOLERANCE = 2e-6;

const available = new CpuBackend({ threads: 1, fma: true }).fma;
const skip = available ? false : 'this engine has no WebAssembly relaxed SIMD: the fused path cannot run here';
if (skip) console.warn(`\n!!! SKIPPING test/fma.test.ts: ${skip}\n`);

// [input shape, weight shape, padding]: Winograd-eligible 3x3 convs, a stride-free 1x1, a 5x5, and
// 3x3 convs with few channels (direct GEMM); MTCNN's and the Inception nets' reduction lengths.
const CONVS: [number[], number[], number][] = [
  [[1, 16, 40, 60], [32, 16, 3, 3], 0], [[3, 28, 11, 11], [48, 28, 3, 3], 0], [[2, 64, 10, 10], [64, 64, 3, 3], 1],
  [[2, 96, 12, 12], [128, 96, 3, 3], 1], [[2, 32, 20, 20], [48, 32, 1, 1], 0], [[1, 16, 20, 20], [16, 16, 5, 5], 2],
  [[4, 16, 30, 30], [4, 16, 3, 3], 0], [[1, 200, 6, 6], [36, 200, 3, 3], 1],
];

/** Worst |path - reference| / sum |products| over the cases, for a path's options. */
async function convError(options: { winograd: boolean; fma: boolean }, threads = 1): Promise<{ worst: number; outputs: Tensor[] }> {
  const reference = new CpuBackend({ threads: 1, simd: false });
  const path = new CpuBackend({ threads, ...options });
  let worst = 0;
  const outputs: Tensor[] = [];
  try {
    let seed = 40;
    for (const [xs, ws, pad] of CONVS) {
      const x = seeded(xs, seed++);
      const w = seeded(ws, seed++);
      const bias = seeded([ws[0]], seed++);
      const alpha = seeded([ws[0]], seed++);
      const conv: Conv2dOptions = { padding: pad, activation: { kind: 'prelu', alpha } };
      const want = await reference.conv2d(x, w, bias, { padding: pad });
      const got = await path.conv2d(x, w, bias, { padding: pad });
      outputs.push(got, await path.conv2d(x, w, bias, conv));
      const size = convMagnitude(x, w, bias, pad, want.shape[2], want.shape[3]);
      for (let i = 0; i < want.size; i++) worst = Math.max(worst, Math.abs(got.data[i] - want.data[i]) / size[i]);
    }
  } finally {
    await reference.dispose();
    await path.dispose();
  }
  return { worst, outputs };
}

test('fused convs (direct GEMM and Winograd) stay within 2e-6 of the sum of |products| of the float64 reference', { skip }, async (t) => {
  for (const winograd of [false, true]) {
    const fused = await convError({ winograd, fma: true });
    const separate = await convError({ winograd, fma: false });
    t.diagnostic(`${winograd ? 'Winograd' : 'direct GEMM'}: worst error / sum |products|: fused ${fused.worst.toExponential(2)}, separate multiply and add ${separate.worst.toExponential(2)}`);
    assert.ok(fused.worst <= TOLERANCE, `${winograd ? 'Winograd' : 'direct'} fused error ${fused.worst} above ${TOLERANCE}`);
  }
});

test('fused dense layers stay within 2e-6 of the sum of |products| of the float64 reference', { skip }, async (t) => {
  const reference = new CpuBackend({ threads: 1, simd: false });
  const fused = new CpuBackend({ threads: 1, fma: true });
  let worst = 0;
  for (const [n, f, o] of [[37, 576, 128], [64, 1152, 256], [5, 128, 10]]) {
    const x = seeded([n, f], n + f);
    const w = seeded([o, f], o + f);
    const bias = seeded([o], o);
    const want = await reference.dense(x, w, bias);
    const got = await fused.dense(x, w, bias);
    for (let b = 0; b < n; b++) {
      for (let r = 0; r < o; r++) {
        let size = Math.abs(bias.data[r]);
        for (let k = 0; k < f; k++) size += Math.abs(x.data[b * f + k] * w.data[r * f + k]);
        worst = Math.max(worst, Math.abs(got.data[b * o + r] - want.data[b * o + r]) / size);
      }
    }
  }
  t.diagnostic(`dense: worst error / sum |products|: ${worst.toExponential(2)}`);
  assert.ok(worst <= TOLERANCE, `fused dense error ${worst} above ${TOLERANCE}`);
  await reference.dispose();
  await fused.dispose();
});

test('the fused path gives the same bits on 1 and 2 threads', { skip }, async () => {
  for (const winograd of [false, true]) {
    const one = await convError({ winograd, fma: true }, 1);
    const two = await convError({ winograd, fma: true }, 2);
    one.outputs.forEach((a, k) => assert.deepEqual(two.outputs[k].data, a.data, `case ${k >> 1}${winograd ? ' (Winograd)' : ''}`));
  }
});

test('fma is off by default, on with the option or TSFACE_FMA=1, says so in describe(), and needs the SIMD kernels', () => {
  const before = process.env.TSFACE_FMA;
  try {
    delete process.env.TSFACE_FMA;
    assert.equal(new CpuBackend({ threads: 1 }).fma, false);
    assert.equal(new CpuBackend({ threads: 1, simd: false, fma: true }).fma, false);
    const asked = new CpuBackend({ threads: 1, fma: true });
    assert.equal(asked.fma, available);
    if (available) assert.match(asked.describe().mode, /\+fma$/);
    else assert.match(asked.describe().fallback ?? '', /relaxed SIMD/);
    process.env.TSFACE_FMA = '1';
    assert.equal(new CpuBackend({ threads: 1 }).fma, available);
    assert.equal(new CpuBackend({ threads: 1, fma: false }).fma, false);
  } finally {
    if (before === undefined) delete process.env.TSFACE_FMA;
    else process.env.TSFACE_FMA = before;
  }
});
