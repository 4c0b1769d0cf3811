// The WebAssembly SIMD kernels of the CPU backend against its plain TypeScript path: max
// pooling bit for bit (NaN included), convolution and dense within float32 reassociation, and
// the switch that turns them off.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import { pool2d } from '../src/tensor/cpu/pool.ts';
import { simdMaxPool2d, simdMaxPoolSupported } from '../src/tensor/cpu/simdPool.ts';
import { simdGemmSupported } from '../src/tensor/cpu/simdGemm.ts';
import { pair, windowGeometry } from '../src/tensor/geometry.ts';
import { loadMtcnn } from '../src/nets/weights.ts';
import { assertClose } from './helpers/compare.ts';
import { seeded } from './helpers/seeded.ts';


test('this engine has WebAssembly SIMD, so the default CPU backend uses it', () => {
  assert.ok(simdGemmSupported() && simdMaxPoolSupported());
  assert.equal(new CpuBackend({ threads: 1, winograd: false }).describe().mode, 'typescript+wasm-simd');
  assert.equal(new CpuBackend({ threads: 1, simd: false }).describe().mode, 'typescript');
});

test('TSFACE_SIMD=0 keeps every op in TypeScript', () => {
  const before = process.env.TSFACE_SIMD;
  process.env.TSFACE_SIMD = '0';
  try {
    assert.equal(new CpuBackend({ threads: 1 }).simd, false);
  } finally {
    if (before === undefined) delete process.env.TSFACE_SIMD;
    else process.env.TSFACE_SIMD = before;
  }
});

// Equal values, NaN where NaN. The sign of a zero max may differ: over a window of only -0 the
// TypeScript formula (m + v + |m - v|) / 2 gives +0 where wasm's max gives -0 (as PyTorch does).
test('SIMD max pooling equals the TypeScript pooling: ceil overhang, padding, strides, odd widths, NaN, -0', () => {
  const cases: [number[], number, number, number, boolean][] = [
    [[2, 3, 22, 22], 3, 2, 0, true], [[1, 10, 47, 63], 2, 2, 0, true], [[1, 4, 7, 9], 3, 1, 1, false],
    [[3, 5, 11, 13], 3, 2, 1, true], [[1, 2, 5, 5], 5, 3, 2, true], [[1, 1, 1, 1], 1, 1, 0, false], [[2, 8, 9, 6], 2, 1, 0, false],
  ];
  for (const [shape, k, s, pad, ceil] of cases) {
    const x = seeded(shape, k * 31 + s);
    x.data[3 % x.size] = NaN;
    x.data[5 % x.size] = -0;
    const g = windowGeometry('maxPool2d', shape, pair(k, 1), s, pad, ceil);
    const want = new Float32Array(g.n * g.c * g.outH * g.outW);
    const got = new Float32Array(want.length).fill(7);
    pool2d('max', g, x.data, want, true);
    simdMaxPool2d(g, x.data, got);
    for (let i = 0; i < want.length; i++) {
      assert.ok(got[i] === want[i] || (Number.isNaN(got[i]) && Number.isNaN(want[i])), `${shape} k${k} s${s} p${pad}: [${i}] ${got[i]} vs ${want[i]}`);
    }
  }
});

test('SIMD conv (dense, grouped, depthwise), LRN and dense layers equal the TypeScript path within 1e-5, whole MTCNN stages and fused activations included', async () => {
  const simd = new CpuBackend({ threads: 1, simd: true });
  const plain = new CpuBackend({ threads: 1, simd: false });
  const nets = loadMtcnn();
  for (const [net, x] of [[nets.pnet, seeded([1, 3, 57, 83], 1)], [nets.rnet, seeded([13, 3, 24, 24], 2)], [nets.onet, seeded([5, 3, 48, 48], 3)]] as const) {
    const a = await net.forward(simd, x);
    const b = await net.forward(plain, x);
    for (const head of Object.keys(b)) assertClose(`${net.name}.${head}`, a[head], b[head], 1e-5, false);
  }
  // Strided and grouped convs, which gather lane by lane.
  const x = seeded([2, 8, 13, 17], 4);
  for (const [w, options] of [[seeded([6, 8, 3, 3], 5), { stride: 2, padding: 1 }], [seeded([8, 2, 5, 5], 6), { groups: 4, padding: 2 }], [seeded([4, 8, 7, 7], 7), { stride: 3 }]] as const) {
    assertClose(`conv ${JSON.stringify(options)}`, await simd.conv2d(x, w, null, options), await plain.conv2d(x, w, null, options), 1e-5, false);
  }
  // Depthwise: stride 1 and 2 with padding, a 7x7 global window, PReLU fused.
  for (const [shape, k, stride, padding] of [[[3, 6, 11, 9], 3, 1, 1], [[2, 5, 13, 10], 3, 2, 1], [[2, 4, 7, 7], 7, 1, 0]] as const) {
    const c = shape[1];
    const xs = seeded([...shape], 11 + k);
    const w = seeded([c, 1, k, k], 12 + k);
    const alpha = seeded([c], 13);
    const options = { stride, padding, groups: c, activation: { kind: 'prelu' as const, alpha } };
    assertClose(`depthwise ${shape} k${k} s${stride}`, await simd.conv2d(xs, w, seeded([c], 14), options), await plain.conv2d(xs, w, seeded([c], 14), options), 1e-5, false);
  }
  // LRN (beta 0.75 runs in wasm): windows clipped at both ends, odd plane sizes.
  for (const [shape, size] of [[[2, 7, 5, 3], 5], [[1, 3, 4, 4], 11], [[3, 16, 9, 9], 5]] as const) {
    const xs = seeded([...shape], 20 + size);
    const o = { size, alpha: 1e-4 * 50, beta: 0.75, k: 1 };
    assertClose(`lrn ${shape} size ${size}`, await simd.lrn(xs, o), await plain.lrn(xs, o), 1e-5, false);
  }
  const f = seeded([37, 300], 8);
  const w = seeded([10, 300], 9);
  const bias = seeded([10], 10);
  assertClose('dense b37', await simd.dense(f, w, bias), await plain.dense(f, w, bias), 1e-5, false);
  await simd.dispose();
  await plain.dispose();
});
