// A first conv that pools its own output (ConvPlan.pool, Conv2dOptions.maxPool) against the conv
// followed by simdMaxPool2d: the same float32 bits on every element (Object.is, NaN included),
// over random shapes, pooling windows, strides, padding, ceil mode, special values, any split of
// the tasks, outputs cut into several bands; through the backend on one and two threads; and the
// MTCNN nets, whose Sequential now hands conv, PReLU and pooling over as one op.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Nn4Small2 } from '../src/nets/facenet.ts';
import { loadMtcnn } from '../src/nets/weights.ts';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import { chunkFor, convReduction, convTaskCount, packConvWeights, type ConvPlan } from '../src/tensor/cpu/conv2d.ts';
import { simdFirstConvFits, simdFirstConvTasks } from '../src/tensor/cpu/simdFirstConv.ts';
import { simdMaxPool2d } from '../src/tensor/cpu/simdPool.ts';
import { windowGeometry, type Pool2dOptions } from '../src/tensor/geometry.ts';
import { Tensor } from '../src/tensor/tensor.ts';
import { rng, values } from './helpers/xorshift.ts';
import { seededNet } from './helpers/sameBits.ts';
import { seeded } from './helpers/seeded.ts';

/** Some inputs with -0, infinities, NaN, tiny and huge values in random places. */
function sprinkle(x: Float32Array, r: () => number): void {
  const specials = [-0, Infinity, -Infinity, NaN, 1e-40, 3e38, -3e38];
  for (let i = 0; i < Math.max(1, x.length / 200); i++) x[Math.floor(r() * x.length)] = specials[Math.floor(r() * specials.length)];
}

function sameBits(name: string, want: Float32Array, got: Float32Array): void {
  assert.equal(got.length, want.length, name);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(want[i], got[i])) assert.fail(`${name}: element ${i} is ${got[i]}, conv then pooling gives ${want[i]}`);
  }
}

/** A conv of 3 channels: 3x3, stride 1, unpadded (MTCNN's), or side k with `stride` and `pad` (nn4.small2's 7x7 stride 2). */
function convPlan(n: number, inH: number, inW: number, cOut: number, activation: 0 | 1 | 2, k = 3, stride = 1, pad = 0): ConvPlan {
  const p: ConvPlan = {
    n, cIn: 3, inH, inW, cOut, kH: k, kW: k, strideH: stride, strideW: stride, padTop: pad, padLeft: pad,
    outH: Math.floor((inH + 2 * pad - k) / stride) + 1, outW: Math.floor((inW + 2 * pad - k) / stride) + 1,
    groups: 1, chunk: 0, activation, simd: true,
  };
  p.chunk = chunkFor(convReduction(p));
  return p;
}

/** The kernel with pooling, its tasks split at `cuts`, against the kernel without and simdMaxPool2d after. */
function compare(name: string, p: ConvPlan, pool: Pool2dOptions, r: () => number, cuts: number[] = []): void {
  const g = windowGeometry('maxPool2d', [p.n, p.cOut, p.outH, p.outW], typeof pool.kernel === 'number' ? [pool.kernel, pool.kernel] : [pool.kernel[0], pool.kernel[1]], pool.stride, pool.padding, pool.ceilMode ?? false);
  const x = values(p.n * 3 * p.inH * p.inW, r, 2);
  if (r() < 0.3) sprinkle(x, r);
  const w = values(p.cOut * 3 * p.kH * p.kW, r);
  const bias = r() < 0.7 ? values(p.cOut, r) : null;
  const alpha = p.activation === 2 ? values(p.cOut, r, 0.5) : null;
  const packed = packConvWeights(p, w);
  const conv = new Float32Array(p.n * p.cOut * p.outH * p.outW);
  simdFirstConvTasks(p, x, packed, bias, conv, alpha, 0, convTaskCount(p));
  const want = new Float32Array(p.n * p.cOut * g.outH * g.outW).fill(7);
  simdMaxPool2d(g, conv, want);
  const pooled: ConvPlan = { ...p, pool: g };
  const got = new Float32Array(want.length).fill(-7);
  const total = convTaskCount(pooled);
  const bounds = [0, ...cuts.map((c) => Math.floor(c * total)).filter((c) => c > 0 && c < total), total];
  for (let i = 0; i + 1 < bounds.length; i++) simdFirstConvTasks(pooled, x, packed, bias, got, alpha, bounds[i], bounds[i + 1]);
  sameBits(name, want, got);
}

test('a first conv that pools its output gives conv-then-pooling bits on random shapes, windows, strides, padding and ceil mode', () => {
  const r = rng(2024);
  for (let i = 0; i < 300; i++) {
    const n = 1 + Math.floor(r() * 3);
    const inH = 4 + Math.floor(r() * 40);
    const inW = 4 + Math.floor(r() * (i % 4 === 0 ? 6 : 60));
    const cOut = 1 + Math.floor(r() * 36);
    const activation = Math.floor(r() * 3) as 0 | 1 | 2;
    const k = 1 + Math.floor(r() * 3);
    const stride = 1 + Math.floor(r() * 3);
    const padding = Math.floor(r() * (Math.floor(k / 2) + 1));
    const ceilMode = r() < 0.6;
    const p = convPlan(n, inH, inW, cOut, activation);
    if (p.outH + 2 * padding < k || p.outW + 2 * padding < k) continue;
    const cuts = r() < 0.5 ? [r(), r(), r()].sort() : [];
    compare(`case ${i}: ${n}x3x${inH}x${inW} -> ${cOut} act ${activation}, pool ${k}/${stride} pad ${padding} ceil ${ceilMode}, cuts ${cuts.map((c) => c.toFixed(2))}`, p, { kernel: k, stride, padding, ceilMode }, r, cuts);
  }
});

test('outputs larger than one band (P-Net on a frame, wide rows, many channels) pool band by band with the same bits', () => {
  const r = rng(31);
  compare('pnet 1x3x240x320 -> 10, 2/2 ceil', convPlan(1, 240, 320, 10, 2), { kernel: 2, stride: 2, ceilMode: true }, r);
  compare('2x3x131x517 -> 40, 3/2 ceil, split', convPlan(2, 131, 517, 40, 2), { kernel: 3, stride: 2, ceilMode: true }, r, [0.3, 0.5, 0.77]);
  compare('1x3x90x700 -> 64, 3/1 pad 1', convPlan(1, 90, 700, 64, 1), { kernel: 3, stride: 1, padding: 1 }, r, [0.5]);
  compare('1x3x101x333 -> 24, 3/3 floor', convPlan(1, 101, 333, 24, 0), { kernel: 3, stride: 3, ceilMode: false }, r);
  // nn4.small2's first conv and pooling: 7x7 stride 2 padded by 3, then 3x3 stride 2 padded by 1.
  compare('nn4.small2 3x3x96x96 -> 64 7x7/2 pad 3, 3/2 pad 1, split', convPlan(3, 96, 96, 64, 1, 7, 2, 3), { kernel: 3, stride: 2, padding: 1 }, r, [0.2, 0.5]);
  compare('2x3x53x71 -> 20 5x5/2 pad 2, 2/2 ceil', convPlan(2, 53, 71, 20, 2, 5, 2, 2), { kernel: 2, stride: 2, ceilMode: true }, r);
});

const fused = new CpuBackend({ threads: 1 });
const apart = new CpuBackend({ threads: 1, poolInConv: false });
const fusedTwo = new CpuBackend({ threads: 2, shareOpsFromMacs: 1_500_000 });
after(async () => {
  await fused.dispose();
  await apart.dispose();
  await fusedTwo.dispose();
});

test('Conv2dOptions.maxPool through the backend: one and two threads give the bits of the conv and maxPool2d run apart', async () => {
  assert.equal(fused.poolInConv, true);
  assert.equal(apart.poolInConv, false);
  const r = rng(4243);
  const cases: [number[], number, Pool2dOptions][] = [
    [[1, 3, 480, 640], 10, { kernel: 2, stride: 2, ceilMode: true }],
    [[64, 3, 24, 24], 28, { kernel: 3, stride: 2, ceilMode: true }],
    [[16, 3, 48, 48], 32, { kernel: 3, stride: 2, ceilMode: true }],
    [[3, 3, 61, 7], 13, { kernel: 2, stride: 1 }],
  ];
  for (const [shape, cOut, maxPool] of cases) {
    const [n, , inH, inW] = shape;
    const x = new Tensor(shape, values(n * 3 * inH * inW, r, 2));
    sprinkle(x.data, r);
    const w = new Tensor([cOut, 3, 3, 3], values(cOut * 27, r));
    const bias = new Tensor([cOut], values(cOut, r));
    const alpha = new Tensor([cOut], values(cOut, r, 0.5));
    const activation = { kind: 'prelu' as const, alpha };
    const want = await apart.maxPool2d(await apart.conv2d(x, w, bias, { activation }), maxPool);
    for (const [label, backend] of [['1 thread', fused], ['2 threads', fusedTwo], ['apart', apart]] as const) {
      const got = await backend.conv2d(x, w, bias, { activation, maxPool });
      assert.deepEqual(got.shape, want.shape, `${shape} -> ${cOut}, ${label}`);
      sameBits(`${shape} -> ${cOut}, ${label}`, want.data, got.data);
    }
  }
  // A conv the first-conv kernel does not take pools after it, with the same result.
  const x = new Tensor([2, 5, 20, 20], values(2 * 5 * 400, r));
  const w = new Tensor([8, 5, 3, 3], values(8 * 45, r));
  const maxPool = { kernel: 3, stride: 2, ceilMode: true };
  const want = await fused.maxPool2d(await fused.conv2d(x, w, null, { padding: 1 }), maxPool);
  sameBits('5 -> 8 channels, padded', want.data, (await fused.conv2d(x, w, null, { padding: 1, maxPool })).data);
});

test('the MTCNN nets and nn4.small2 give the same bits with the pooling in their first convs and after them, on one and two threads', async () => {
  const nets = loadMtcnn();
  for (const [name, net, x] of [
    ['pnet', nets.pnet, seeded([1, 3, 211, 283], 1)],
    ['rnet', nets.rnet, seeded([40, 3, 24, 24], 2)],
    ['onet', nets.onet, seeded([24, 3, 48, 48], 3)],
    ['nn4.small2 (seeded weights)', seededNet(Nn4Small2(), 4), seeded([3, 3, 96, 96], 5)],
  ] as const) {
    const want = await net.forward(apart, x);
    for (const [label, backend] of [['1 thread', fused], ['2 threads', fusedTwo]] as const) {
      const got = await net.forward(backend, x);
      for (const head of Object.keys(want)) sameBits(`${name} ${head}, ${label}`, want[head].data, got[head].data);
    }
  }
});

test('simdFirstConvFits still decides which convs may pool in place', () => {
  const p = convPlan(1, 10, 10, 8, 0);
  assert.ok(simdFirstConvFits(p));
  assert.ok(!simdFirstConvFits({ ...p, cIn: 4 }));
  assert.ok(!simdFirstConvFits({ ...p, firstConv: false }));
});
