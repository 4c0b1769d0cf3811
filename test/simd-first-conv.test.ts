// The direct 3 -> n kernel (simdFirstConv.ts) against im2col + the SIMD GEMM (simdConv.ts) it
// replaces: the same float32 bits on every element (Object.is), over random shapes, kernel sides
// 1 to 7, strides 1 and 2 each way, padding, batches, bias or none, no activation, ReLU and
// PReLU, any split of the tasks, and through the backend on one and two threads.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import { chunkFor, convReduction, convTaskCount, convTasks, packConvWeights, type ConvPlan } from '../src/tensor/cpu/conv2d.ts';
import { simdConvTasks } from '../src/tensor/cpu/simdConv.ts';
import { simdFirstConvFits, simdFirstConvTasks } from '../src/tensor/cpu/simdFirstConv.ts';
import { Tensor } from '../src/tensor/tensor.ts';
import { rng, values } from './helpers/xorshift.ts';

/** A window's geometry: kernel sides, strides and padding on each side (3x3, stride 1, none by default). */
interface Window {
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
}

const MTCNN: Window = { kH: 3, kW: 3, strideH: 1, strideW: 1, padH: 0, padW: 0 };

function plan(n: number, inH: number, inW: number, cOut: number, activation: 0 | 1 | 2, chunk?: number, win: Window = MTCNN): ConvPlan {
  const { kH, kW, strideH, strideW, padH, padW } = win;
  const p: ConvPlan = {
    n, cIn: 3, inH, inW, cOut, kH, kW, strideH, strideW, padTop: padH, padLeft: padW,
    outH: Math.floor((inH + 2 * padH - kH) / strideH) + 1, outW: Math.floor((inW + 2 * padW - kW) / strideW) + 1,
    groups: 1, chunk: 0, activation, simd: true,
  };
  p.chunk = chunk ?? chunkFor(convReduction(p));
  return p;
}

/** A random window: sides 1 to 7, strides 1 or 2, padding up to half the side; null where the input is too small for it. */
function randomWindow(r: () => number, inH: number, inW: number): Window | null {
  const kH = 1 + Math.floor(r() * 7);
  const kW = r() < 0.7 ? kH : 1 + Math.floor(r() * 7);
  const strideH = 1 + Math.floor(r() * 2);
  const strideW = r() < 0.7 ? strideH : 1 + Math.floor(r() * 2);
  const padH = Math.floor(r() * (Math.floor(kH / 2) + 1));
  const padW = Math.floor(r() * (Math.floor(kW / 2) + 1));
  return inH + 2 * padH < kH || inW + 2 * padW < kW ? null : { kH, kW, strideH, strideW, padH, padW };
}

function assertSameBits(name: string, want: Float32Array, got: Float32Array): void {
  assert.equal(got.length, want.length, name);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(want[i], got[i])) assert.fail(`${name}: element ${i} is ${got[i]}, the GEMM gives ${want[i]}`);
  }
}

/** Both kernels on one case; the direct one with its tasks split at `cuts` (shares of a thread pool). */
function compare(name: string, p: ConvPlan, r: () => number, withBias: boolean, cuts: number[] = []): void {
  assert.ok(simdFirstConvFits(p), `${name} fits`);
  const x = values(p.n * 3 * p.inH * p.inW, r, 2);
  const w = values(p.cOut * 3 * p.kH * p.kW, r);
  const bias = withBias ? values(p.cOut, r) : null;
  const alpha = p.activation === 2 ? values(p.cOut, r, 0.5) : null;
  const packed = packConvWeights(p, w);
  const size = p.n * p.cOut * p.outH * p.outW;
  const want = new Float32Array(size).fill(NaN);
  const got = new Float32Array(size).fill(NaN);
  const total = convTaskCount(p);
  simdConvTasks(p, x, packed, bias, want, alpha, 0, total);
  const bounds = [0, ...cuts.filter((c) => c > 0 && c < total), total];
  for (let i = 0; i + 1 < bounds.length; i++) simdFirstConvTasks(p, x, packed, bias, got, alpha, bounds[i], bounds[i + 1]);
  assertSameBits(name, want, got);
}

/**
 * 400 random cases (widths under 4, odd widths, batches, bias or none, none/ReLU/PReLU, small
 * chunks: tasks that start and end mid-row, several per row), MTCNN's window or random ones.
 * Returns how many cases ran (random windows skip inputs smaller than the window).
 */
function randomCases(seed: number, windows: 'mtcnn' | 'random'): number {
  const r = rng(seed);
  let cases = 0;
  for (let i = 0; i < 400; i++) {
    const n = 1 + Math.floor(r() * 3);
    const inH = (windows === 'mtcnn' ? 3 : 1) + Math.floor(r() * (windows === 'mtcnn' ? 48 : 40));
    const inW = (windows === 'mtcnn' ? 3 : 1) + Math.floor(r() * (i % 4 === 0 ? (windows === 'mtcnn' ? 5 : 9) : 60));
    const win = windows === 'mtcnn' ? MTCNN : randomWindow(r, inH, inW);
    if (!win) continue;
    const cOut = 1 + Math.floor(r() * 40);
    const activation = Math.floor(r() * 3) as 0 | 1 | 2;
    const withBias = r() < 0.7;
    const chunk = r() < 0.4 ? 16 + 8 * Math.floor(r() * 12) : undefined;
    const p = plan(n, inH, inW, cOut, activation, chunk, win);
    const cuts = windows === 'random' && r() < 0.3 ? [Math.floor(r() * convTaskCount(p))] : [];
    compare(`case ${i}: ${n}x3x${inH}x${inW} -> ${cOut} ${JSON.stringify(win)} act ${activation} bias ${withBias} chunk ${p.chunk} cuts ${cuts}`, p, r, withBias, cuts);
    cases++;
  }
  return cases;
}

test('the direct first conv equals im2col + SIMD GEMM bit for bit on random shapes (widths < 4, odd widths, batches, bias, none/ReLU/PReLU)', () => {
  assert.equal(randomCases(12345, 'mtcnn'), 400);
});

test('kernels up to 7x7, strides of 1 and 2 each way and padding give the GEMM\'s bits too (nn4.small2\'s and MobileFaceNet\'s first convs)', () => {
  const cases = randomCases(2718, 'random');
  assert.ok(cases > 300, `${cases} cases`);
  const r = rng(2719);
  compare('nn4.small2 2x3x96x96 -> 64, 7x7 stride 2 pad 3', plan(2, 96, 96, 64, 1, undefined, { kH: 7, kW: 7, strideH: 2, strideW: 2, padH: 3, padW: 3 }), r, true);
  compare('MobileFaceNet 2x3x112x112 -> 64, 3x3 stride 2 pad 1', plan(2, 112, 112, 64, 2, undefined, { kH: 3, kW: 3, strideH: 2, strideW: 2, padH: 1, padW: 1 }), r, true);
});

test('the direct first conv gives the same bits whatever share of the tasks each call takes', () => {
  const r = rng(777);
  for (let i = 0; i < 60; i++) {
    const p = plan(1 + Math.floor(r() * 4), 3 + Math.floor(r() * 40), 3 + Math.floor(r() * 50), 1 + Math.floor(r() * 40), Math.floor(r() * 3) as 0 | 1 | 2, 16 + 8 * Math.floor(r() * 6));
    const total = convTaskCount(p);
    const cuts = Array.from({ length: 1 + Math.floor(r() * 5) }, () => Math.floor(r() * total)).sort((a, b) => a - b);
    compare(`split case ${i} ${JSON.stringify({ n: p.n, inH: p.inH, inW: p.inW, cOut: p.cOut, chunk: p.chunk })} at ${cuts}`, p, r, r() < 0.5, cuts);
  }
});

test('the MTCNN first convs (P-Net on a frame, R-Net and O-Net batches) and special values: same bits as the GEMM', () => {
  const r = rng(99);
  compare('pnet 1x3x97x131 -> 10 prelu', plan(1, 97, 131, 10, 2), r, true);
  compare('rnet 7x3x24x24 -> 28 prelu', plan(7, 24, 24, 28, 2), r, true);
  compare('onet 3x3x48x48 -> 32 prelu', plan(3, 48, 48, 32, 2), r, true);
  // -0, infinities and NaN in the input, tiny and huge values.
  const p = plan(2, 9, 11, 6, 2);
  const x = values(2 * 3 * 9 * 11, r, 1);
  x[0] = -0; x[5] = Infinity; x[17] = -Infinity; x[40] = NaN; x[60] = 1e-40; x[70] = 3e38; x[71] = 3e38;
  const w = values(6 * 27, r);
  w[3] = -0; w[30] = 0;
  const packed = packConvWeights(p, w);
  const bias = values(6, r);
  const alpha = values(6, r);
  const total = convTaskCount(p);
  const want = new Float32Array(2 * 6 * 7 * 9);
  const got = new Float32Array(want.length);
  simdConvTasks(p, x, packed, bias, want, alpha, 0, total);
  convTasks(p, x, packed, bias, got, new Float32Array(0), alpha, 0, total);
  for (let i = 0; i < want.length; i++) {
    assert.ok(Object.is(want[i], got[i]) || (Number.isNaN(want[i]) && Number.isNaN(got[i])), `special values: element ${i} is ${got[i]}, the GEMM gives ${want[i]}`);
  }
});

test('convTasks sends only dense 3 -> n SIMD convs up to 7x7 with strides 1 and 2 to the direct kernel', () => {
  const p = plan(1, 10, 10, 8, 0);
  assert.ok(simdFirstConvFits(p));
  assert.ok(simdFirstConvFits({ ...p, padTop: 1, padLeft: 1, outH: 10, outW: 10 }));
  assert.ok(simdFirstConvFits({ ...p, strideH: 2, strideW: 2, outH: 4, outW: 4 }));
  assert.ok(simdFirstConvFits({ ...p, kH: 7, kW: 7, outH: 4, outW: 4 }));
  assert.ok(!simdFirstConvFits({ ...p, firstConv: false }), 'CpuBackendOptions.firstConv: false');
  assert.ok(!simdFirstConvFits({ ...p, simd: false }));
  assert.ok(!simdFirstConvFits({ ...p, cIn: 4 }));
  assert.ok(!simdFirstConvFits({ ...p, kH: 9, kW: 9, outH: 2, outW: 2 }));
  assert.ok(!simdFirstConvFits({ ...p, strideH: 3, strideW: 3, outH: 3, outW: 3 }));
  assert.ok(!simdFirstConvFits({ ...p, groups: 3, cOut: 9 }));
});

const one = new CpuBackend({ threads: 1 });
const two = new CpuBackend({ threads: 2, shareOpsFromMacs: 1_500_000 });
const gemm = new CpuBackend({ threads: 1, firstConv: false });
after(async () => {
  await one.dispose();
  await two.dispose();
  await gemm.dispose();
});

test('through the backend, one and two threads give the GEMM\'s bits (frames and batches above the threading threshold)', async () => {
  const r = rng(4242);
  for (const [shape, cOut] of [[[1, 3, 97, 131], 10], [[1, 3, 480, 640], 10], [[64, 3, 24, 24], 28], [[16, 3, 48, 48], 32], [[3, 3, 61, 7], 13]] as [number[], number][]) {
    const [n, , inH, inW] = shape;
    const x = new Tensor(shape, values(n * 3 * inH * inW, r, 2));
    const w = new Tensor([cOut, 3, 3, 3], values(cOut * 27, r));
    const bias = new Tensor([cOut], values(cOut, r));
    const alpha = new Tensor([cOut], values(cOut, r, 0.5));
    const options = { activation: { kind: 'prelu' as const, alpha } };
    const p = plan(n, inH, inW, cOut, 2);
    const packed = packConvWeights(p, w.data);
    const want = new Float32Array(n * cOut * p.outH * p.outW);
    simdConvTasks(p, x.data, packed, bias.data, want, alpha.data, 0, convTaskCount(p));
    assertSameBits(`${shape} -> ${cOut}, 1 thread`, want, (await one.conv2d(x, w, bias, options)).data);
    assertSameBits(`${shape} -> ${cOut}, 2 threads`, want, (await two.conv2d(x, w, bias, options)).data);
  }
});

test('firstConv: false (TSFACE_FIRSTCONV=0) keeps im2col + GEMM, with the same bits for nn4.small2\'s and MobileFaceNet\'s first convs', async () => {
  assert.equal(one.firstConv, process.env.TSFACE_FIRSTCONV !== '0');
  assert.equal(gemm.firstConv, false);
  const r = rng(4243);
  for (const [shape, cOut, k, stride, padding] of [[[4, 3, 96, 96], 64, 7, 2, 3], [[3, 3, 112, 112], 64, 3, 2, 1]] as [number[], number, number, number, number][]) {
    const [n, , inH, inW] = shape;
    const x = new Tensor(shape, values(n * 3 * inH * inW, r, 2));
    const w = new Tensor([cOut, 3, k, k], values(cOut * 3 * k * k, r));
    const bias = new Tensor([cOut], values(cOut, r));
    const options = { stride, padding, activation: { kind: 'relu' as const } };
    const want = await gemm.conv2d(x, w, bias, options);
    assertSameBits(`${shape} -> ${cOut} ${k}x${k}/${stride}, 1 thread`, want.data, (await one.conv2d(x, w, bias, options)).data);
    assertSameBits(`${shape} -> ${cOut} ${k}x${k}/${stride}, 2 threads`, want.data, (await two.conv2d(x, w, bias, options)).data);
    const maxPool = { kernel: 3, stride: 2, padding: 1 };
    const pooled = await gemm.maxPool2d(want, maxPool);
    assertSameBits(`${shape} -> ${cOut} ${k}x${k}/${stride} pooled`, pooled.data, (await one.conv2d(x, w, bias, { ...options, maxPool })).data);
  }
});
