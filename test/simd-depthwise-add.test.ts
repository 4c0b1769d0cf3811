// The SIMD depthwise conv against its own definition, evaluated one float32 step at a time in
// TypeScript: ((0 + w0 x0) + w1 x1) + ... in tap order, + bias, then ReLU or PReLU as
// max(y, 0) + alpha * min(y, 0). Bit for bit, over strides, windows, paddings, widths that are
// not a multiple of four, planes that span several batches, and every split of the planes
// (threads run ranges of planes). And the SIMD residual add against the TypeScript one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConvPlan } from '../src/tensor/cpu/convPlan.ts';
import { simdDepthwiseFits, simdDepthwiseTasks } from '../src/tensor/cpu/simdDepthwise.ts';
import { seeded } from './helpers/seeded.ts';

const f = Math.fround;

function plan(n: number, c: number, inH: number, inW: number, k: number, stride: number, pad: [number, number, number, number], activation: 0 | 1 | 2): ConvPlan {
  const [top, bottom, left, right] = pad;
  return {
    n, cIn: c, cOut: c, groups: c, inH, inW, kH: k, kW: k, strideH: stride, strideW: stride, padTop: top, padLeft: left,
    outH: Math.floor((inH + top + bottom - k) / stride) + 1, outW: Math.floor((inW + left + right - k) / stride) + 1,
    chunk: 0, simd: true, activation,
  };
}

function reference(p: ConvPlan, x: Float32Array, w: Float32Array, bias: Float32Array | null, alpha: Float32Array | null): Float32Array {
  const out = new Float32Array(p.n * p.cOut * p.outH * p.outW);
  let o = 0;
  for (let t = 0; t < p.n * p.cIn; t++) {
    const c = t % p.cIn;
    for (let oy = 0; oy < p.outH; oy++) {
      for (let ox = 0; ox < p.outW; ox++) {
        let acc = 0;
        for (let ky = 0; ky < p.kH; ky++) {
          for (let kx = 0; kx < p.kW; kx++) {
            const iy = oy * p.strideH - p.padTop + ky;
            const ix = ox * p.strideW - p.padLeft + kx;
            const v = iy >= 0 && iy < p.inH && ix >= 0 && ix < p.inW ? x[(t * p.inH + iy) * p.inW + ix] : 0;
            acc = f(acc + f(w[(c * p.kH + ky) * p.kW + kx] * v));
          }
        }
        let y = f(acc + (bias ? bias[c] : 0));
        if (p.activation) y = f(Math.max(y, 0) + f((p.activation === 2 ? alpha![c] : 0) * Math.min(y, 0)));
        out[o++] = y;
      }
    }
  }
  return out;
}

function sameBits(label: string, got: Float32Array, want: Float32Array): void {
  const a = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const b = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < a.length; i++) assert.equal(a[i], b[i], `${label}: [${i}] ${got[i]} vs ${want[i]}`);
}

test('SIMD depthwise conv equals its float32 definition bit for bit: strides 1 and 2, windows 1-7, paddings, odd widths, PReLU, ReLU, none', () => {
  const cases: [number, number, number, number, number, number, [number, number, number, number], 0 | 1 | 2][] = [
    [2, 5, 14, 14, 3, 1, [1, 1, 1, 1], 2], [1, 3, 28, 28, 3, 2, [1, 1, 1, 1], 2], [2, 4, 7, 7, 7, 1, [0, 0, 0, 0], 0],
    [1, 6, 9, 13, 3, 1, [1, 1, 1, 1], 1], [3, 2, 5, 6, 5, 2, [2, 1, 0, 2], 2], [1, 3, 1, 1, 1, 1, [0, 0, 0, 0], 2],
    [1, 2, 11, 3, 3, 2, [0, 1, 1, 0], 1], [2, 3, 6, 17, 2, 1, [0, 0, 1, 0], 0], [1, 1, 4, 4, 3, 1, [2, 2, 2, 2], 2],
  ];
  for (const [n, c, h, w, k, s, pad, act] of cases) {
    const p = plan(n, c, h, w, k, s, pad, act);
    assert.ok(simdDepthwiseFits(p));
    const x = seeded([n, c, h, w], h * 7 + k).data;
    x[0] = -0;
    const weights = seeded([c, 1, k, k], 3 + k).data;
    const bias = act === 1 ? null : seeded([c], 5).data;
    const alpha = act === 2 ? seeded([c], 6).data : null;
    const want = reference(p, x, weights, bias, alpha);
    const got = new Float32Array(want.length).fill(NaN);
    simdDepthwiseTasks(p, x, weights, bias, got, alpha, 0, n * c);
    sameBits(`${n}x${c}x${h}x${w} k${k} s${s} pad ${pad} act ${act}`, got, want);
  }
});

test('SIMD depthwise conv gives the same bits for every split of its planes, across batches of planes', () => {
  // 600 planes of 12x12: more than one batch of planes per call.
  const p = plan(4, 150, 12, 12, 3, 1, [1, 1, 1, 1], 2);
  const x = seeded([4, 150, 12, 12], 9).data;
  const w = seeded([150, 1, 3, 3], 10).data;
  const bias = seeded([150], 11).data;
  const alpha = seeded([150], 12).data;
  const want = reference(p, x, w, bias, alpha);
  for (const cuts of [[0, 600], [0, 1, 600], [0, 149, 150, 451, 600], [0, 300, 599, 600]]) {
    const got = new Float32Array(want.length).fill(NaN);
    for (let i = 0; i + 1 < cuts.length; i++) simdDepthwiseTasks(p, x, w, bias, got, alpha, cuts[i], cuts[i + 1]);
    sameBits(`cuts ${cuts}`, got, want);
  }
});

test('SIMD add equals the TypeScript add bit for bit: odd lengths, several chunks, -0, infinities and NaN', async () => {
  const { simdAdd, simdAddSupported } = await import('../src/tensor/cpu/simdAdd.ts');
  const { add } = await import('../src/tensor/cpu/pointwise.ts');
  assert.ok(simdAddSupported());
  for (const n of [1, 5, 64, 1023, (1 << 14) + 3, 3 * (1 << 14)]) {
    const a = seeded([n], n).data;
    const b = seeded([n], n + 1).data;
    if (n > 4) {
      a[0] = -0; b[0] = -0;
      a[1] = Infinity; b[1] = -Infinity;
      a[2] = NaN;
      a[3] = 3.4e38; b[3] = 3.4e38;
    }
    const want = new Float32Array(n);
    add(a, b, want);
    const got = new Float32Array(n).fill(7);
    simdAdd(a, b, got);
    // NaN payloads may differ: compare NaN as NaN, everything else by its bits.
    for (let i = 0; i < n; i++) assert.ok(Number.isNaN(want[i]) ? Number.isNaN(got[i]) : Object.is(got[i], want[i]), `n ${n} [${i}]: ${got[i]} vs ${want[i]}`);
  }
});
