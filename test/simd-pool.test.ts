// The wasm SIMD max pooling against a plain definition over many random window geometries, bit
// for bit: every window is the max of its taps with each tap clamped into the input (so padding
// and ceil-mode overhang never win), NaN propagating and +0 above -0, as Math.max and wasm's max
// both define it. Ties, zeros of both signs and infinities are frequent by construction.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pool2d } from '../src/tensor/cpu/pool.ts';
import { simdMaxPool2d } from '../src/tensor/cpu/simdPool.ts';
import { windowGeometry, type Padding, type Window2d } from '../src/tensor/geometry.ts';

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const SPECIALS = [NaN, -Infinity, Infinity, -0, 0];

function values(size: number, rnd: () => number, specials: number): Float32Array {
  const x = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const r = rnd();
    x[i] = r < specials ? SPECIALS[Math.floor(rnd() * SPECIALS.length)] : Math.floor(rnd() * 9) - 6 + (rnd() < 0.5 ? 0.25 : 0);
  }
  return x;
}

function reference(g: Window2d, x: Float32Array, from: number, to: number, out: Float32Array): void {
  const clamp = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  for (let p = from; p < to; p++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        let m = -Infinity;
        for (let ky = 0; ky < g.kH; ky++) {
          for (let kx = 0; kx < g.kW; kx++) {
            const y = clamp(oy * g.strideH - g.padTop + ky, g.inH - 1);
            const xx = clamp(ox * g.strideW - g.padLeft + kx, g.inW - 1);
            m = Math.max(m, x[(p * g.inH + y) * g.inW + xx]);
          }
        }
        out[(p * g.outH + oy) * g.outW + ox] = m;
      }
    }
  }
}

const SENTINEL = 1234.5;

function check(label: string, g: Window2d, x: Float32Array, from: number, to: number): void {
  const outPlane = g.outH * g.outW;
  const want = new Float32Array(g.n * g.c * outPlane).fill(SENTINEL);
  const got = new Float32Array(want.length).fill(SENTINEL);
  reference(g, x, from, to, want);
  simdMaxPool2d(g, x, got, from, to);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) {
      const p = Math.floor(i / outPlane);
      assert.fail(`${label} planes [${from}, ${to}): out[${i}] (plane ${p}, y ${Math.floor((i % outPlane) / g.outW)}, x ${i % g.outW}) = ${got[i]}, want ${want[i]}`);
    }
  }
}

test('SIMD max pooling equals the clamped-tap definition bit for bit over random geometries, plane ranges and special values', () => {
  const rnd = random(13);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  let checked = 0;
  for (let trial = 0; checked < 600; trial++) {
    const shape = [int(1, 3), int(1, 5), int(1, 20), int(1, 37)];
    const kernel: [number, number] = rnd() < 0.7 ? [int(1, 4), 0] : [int(1, 4), int(1, 4)];
    if (!kernel[1]) kernel[1] = kernel[0];
    const stride: [number, number] = rnd() < 0.7 ? [int(1, 3), 0] : [int(1, 3), int(1, 3)];
    if (!stride[1]) stride[1] = stride[0];
    const padding: Padding = rnd() < 0.6 ? [int(0, 2), 0, 0, 0] : [int(0, 2), int(0, 2), int(0, 2), int(0, 2)];
    const pad = rnd() < 0.6 && padding[1] === 0 && padding[2] === 0 ? padding[0] : padding;
    const ceil = rnd() < 0.5;
    let g: Window2d;
    try {
      g = windowGeometry('maxPool2d', shape, kernel, stride, pad, ceil);
    } catch {
      continue; // the window does not fit this input
    }
    const planes = g.n * g.c;
    const x = values(planes * g.inH * g.inW, rnd, [0, 0.05, 0.3][trial % 3]);
    const from = rnd() < 0.5 ? 0 : int(0, planes - 1);
    const to = rnd() < 0.5 ? planes : int(from + 1, planes);
    check(`${shape} k${kernel} s${stride} p${pad} ceil ${ceil}`, g, x, from, to);
    checked++;
  }
});

test('SIMD max pooling over many planes and over planes too large for one call (split into row bands)', () => {
  const rnd = random(29);
  const cases: [number[], number, number, number, boolean][] = [
    [[3, 40, 22, 22], 3, 2, 0, true], // planes in several groups, the last one partial
    [[2, 70, 9, 9], 3, 2, 0, true],
    [[1, 3, 161, 203], 2, 2, 0, true], // 131 KB planes: bands of rows
    [[1, 2, 300, 301], 3, 2, 1, false],
    [[1, 2, 257, 255], 3, 1, 1, false],
    [[1, 1, 401, 97], 3, 2, 0, true],
    [[1, 1, 9, 40000], 2, 2, 0, true], // a band of a single row
    [[1, 2, 180, 190], 3, 3, 2, true],
  ];
  for (const [shape, k, s, pad, ceil] of cases) {
    const g = windowGeometry('maxPool2d', shape, [k, k], s, pad, ceil);
    const planes = g.n * g.c;
    const x = values(planes * g.inH * g.inW, rnd, 0.02);
    check(`${shape} k${k} s${s} p${pad}`, g, x, 0, planes);
    if (planes > 1) check(`${shape} k${k} s${s} p${pad}`, g, x, 1, planes - 1);
  }
});

// pool2d's max (the path without SIMD) may give +0 where the max is -0, so zeros compare by value.
test('SIMD max pooling equals the TypeScript pool2d max, infinities and NaN included, where windows overlap the input', () => {
  const rnd = random(41);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  for (let trial = 0; trial < 200; trial++) {
    const k = int(1, 4);
    const shape = [int(1, 2), int(1, 4), int(k, 19), int(k, 33)];
    const g = windowGeometry('maxPool2d', shape, [k, k], int(1, 3), int(0, Math.floor(k / 2)), rnd() < 0.5);
    const x = values(g.n * g.c * g.inH * g.inW, rnd, 0);
    for (let i = 0; i < x.length; i++) if (rnd() < 0.04) x[i] = [NaN, -0, Infinity, -Infinity][Math.floor(rnd() * 4)];
    const want = new Float32Array(g.n * g.c * g.outH * g.outW);
    const got = new Float32Array(want.length);
    pool2d('max', g, x, want, true);
    simdMaxPool2d(g, x, got);
    for (let i = 0; i < want.length; i++) {
      assert.ok(got[i] === want[i] || (Number.isNaN(got[i]) && Number.isNaN(want[i])), `${shape} k${k}: [${i}] ${got[i]} vs ${want[i]}`);
    }
  }
});
