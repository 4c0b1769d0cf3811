// Average and L2 pooling (pool.ts) against the plain definition, bit for bit: each window's sum
// in float64, row by row and left to right over the cells inside the input, then the square root
// or the division. Windows three cells wide take their own unrolled path; the others the loop.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pool2d } from '../src/tensor/cpu/pool.ts';
import { windowGeometry, type Window2d } from '../src/tensor/geometry.ts';

function definition(kind: 'avg' | 'l2', g: Window2d, x: Float32Array, countIncludePad: boolean): Float32Array {
  const out = new Float32Array(g.n * g.c * g.outH * g.outW);
  let o = 0;
  for (let pl = 0; pl < g.n * g.c; pl++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        const wy = oy * g.strideH - g.padTop;
        const wx = ox * g.strideW - g.padLeft;
        let s = 0;
        let inside = 0;
        for (let y = wy; y < wy + g.kH; y++) {
          for (let xx = wx; xx < wx + g.kW; xx++) {
            if (y < 0 || y >= g.inH || xx < 0 || xx >= g.inW) continue;
            const v = x[(pl * g.inH + y) * g.inW + xx];
            s += kind === 'l2' ? v * v : v;
            inside++;
          }
        }
        const padded = (Math.min(wy + g.kH, g.inH + g.padBottom) - wy) * (Math.min(wx + g.kW, g.inW + g.padRight) - wx);
        out[o++] = kind === 'l2' ? Math.sqrt(s) : s / (countIncludePad ? padded : inside);
      }
    }
  }
  return out;
}

test('average and L2 pooling equal their definition bit for bit: windows of 1 to 4 cells a side, strides, padding, ceil mode, -0, NaN and infinities', () => {
  let seed = 11;
  const pick = (n: number) => Math.floor(((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * n);
  // Values of full float32 precision and spread exponents. (The float64 sums of a few float32
  // squares are rounded to float32 after: a float64 rounding in another order would almost never
  // reach the output's bits, so this checks windows, edges, divisors and specials, not the order.)
  let threeWide = 0;
  for (let k = 0; k < 300; k++) {
    const kH = 1 + pick(4);
    const kW = 1 + pick(4);
    const shape = [1 + pick(3), 1 + pick(4), kH + pick(9), kW + pick(9)];
    const stride = 1 + pick(3);
    const padding = pick(Math.min(kH, kW) >> 1 || 1) * (pick(2));
    const g = windowGeometry('pool', shape, [kH, kW], stride, padding, pick(2) === 1);
    const x = Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => {
      const r = pick(40);
      return r === 0 ? -0 : r === 1 ? NaN : r === 2 ? Infinity : r === 3 ? -Infinity : r === 4 ? 3e38 : ((pick(1 << 20) - (1 << 19)) / 777.7) * 2 ** (pick(24) - 12);
    });
    if (kW === 3) threeWide++;
    for (const kind of ['avg', 'l2'] as const) {
      for (const countIncludePad of [true, false]) {
        const got = new Float32Array(g.n * g.c * g.outH * g.outW).fill(7);
        pool2d(kind, g, x, got, countIncludePad);
        const want = definition(kind, g, x, countIncludePad);
        for (let i = 0; i < want.length; i++) assert.ok(Object.is(got[i], want[i]), `${kind} case ${k} ${shape.join('x')} k${kH}x${kW} s${stride} p${padding} at ${i}: ${got[i]} vs ${want[i]}`);
      }
    }
  }
  assert.ok(threeWide > 30, 'too few windows three cells wide');
});
