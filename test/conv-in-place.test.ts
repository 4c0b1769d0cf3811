// The SIMD conv's GEMM writes a small output map in place (laid out as the result in the kernel's
// memory, copied out once per batch item's share) and a large one chunk by chunk through a tile.
// Both against the conv's float32 definition, one step at a time in TypeScript: each output is
// ((0 + w0 x0) + w1 x1) + ... over (input channel, ky, kx), + bias, then max(y, 0) + alpha * min(y, 0).
// Bit for bit, for 1x1 (the GEMM reads the input planes, copied whole or chunk by chunk) and im2col convs, groups whose rows do
// not fill a block, maps that are not whole panels, and any split of the tasks between threads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chunkFor, convReduction, convTaskCount, packConvWeights, type ConvPlan } from '../src/tensor/cpu/conv2d.ts';
import { simdConvTasks } from '../src/tensor/cpu/simdConv.ts';
import { seededValues } from './helpers/seeded.ts';

const f = Math.fround;

interface Case { n: number; cIn: number; h: number; w: number; cOut: number; k: number; stride: number; pad: number; groups: number; activation: 0 | 1 | 2 }

function planOf(c: Case): ConvPlan {
  const p: ConvPlan = {
    n: c.n, cIn: c.cIn, inH: c.h, inW: c.w, cOut: c.cOut, kH: c.k, kW: c.k, strideH: c.stride, strideW: c.stride, padTop: c.pad, padLeft: c.pad,
    outH: Math.floor((c.h + 2 * c.pad - c.k) / c.stride) + 1, outW: Math.floor((c.w + 2 * c.pad - c.k) / c.stride) + 1,
    groups: c.groups, chunk: 0, activation: c.activation, simd: true,
  };
  p.chunk = chunkFor(convReduction(p));
  return p;
}

function reference(p: ConvPlan, x: Float32Array, w: Float32Array, bias: Float32Array, alpha: Float32Array): Float32Array {
  const cInG = p.cIn / p.groups;
  const mG = p.cOut / p.groups;
  const out = new Float32Array(p.n * p.cOut * p.outH * p.outW);
  let o = 0;
  for (let b = 0; b < p.n; b++) {
    for (let m = 0; m < p.cOut; m++) {
      const g = Math.floor(m / mG);
      for (let oy = 0; oy < p.outH; oy++) {
        for (let ox = 0; ox < p.outW; ox++) {
          let acc = 0;
          for (let c = 0; c < cInG; c++) {
            for (let ky = 0; ky < p.kH; ky++) {
              for (let kx = 0; kx < p.kW; kx++) {
                const iy = oy * p.strideH - p.padTop + ky;
                const ix = ox * p.strideW - p.padLeft + kx;
                const v = iy >= 0 && iy < p.inH && ix >= 0 && ix < p.inW ? x[((b * p.cIn + g * cInG + c) * p.inH + iy) * p.inW + ix] : 0;
                acc = f(acc + f(w[((m * cInG + c) * p.kH + ky) * p.kW + kx] * v));
              }
            }
          }
          let y = f(acc + bias[m]);
          if (p.activation) y = f(Math.max(y, 0) + f((p.activation === 2 ? alpha[m] : 0) * Math.min(y, 0)));
          out[o++] = y;
        }
      }
    }
  }
  return out;
}

test('SIMD conv output, in place or through the tile, equals its float32 definition bit for bit, for every split of the tasks', () => {
  const cases: Case[] = [
    // In place: 1x1 on a 7x7 map (not whole panels), grouped 3x3 with 6 rows a group, strided 5x5.
    { n: 3, cIn: 16, h: 7, w: 7, cOut: 12, k: 1, stride: 1, pad: 0, groups: 1, activation: 2 },
    { n: 2, cIn: 8, h: 9, w: 11, cOut: 12, k: 3, stride: 1, pad: 1, groups: 2, activation: 1 },
    { n: 2, cIn: 5, h: 13, w: 13, cOut: 7, k: 5, stride: 2, pad: 2, groups: 1, activation: 0 },
    // Through the tile: 68 rows of 46x46 outputs are past the in-place bound.
    { n: 2, cIn: 3, h: 46, w: 46, cOut: 68, k: 1, stride: 1, pad: 0, groups: 1, activation: 2 },
    { n: 1, cIn: 4, h: 47, w: 45, cOut: 66, k: 3, stride: 1, pad: 1, groups: 2, activation: 2 },
    // 1x1 to a few channels over a large input (P-Net's heads): the input copied chunk by chunk.
    { n: 2, cIn: 32, h: 47, w: 45, cOut: 6, k: 1, stride: 1, pad: 0, groups: 1, activation: 2 },
    { n: 1, cIn: 34, h: 50, w: 41, cOut: 10, k: 1, stride: 1, pad: 0, groups: 2, activation: 0 },
  ];
  cases.forEach((c, k) => {
    const p = planOf(c);
    const x = seededValues(c.n * c.cIn * c.h * c.w, 10 + k).map((v) => 4 * v);
    x[0] = -0;
    const w = seededValues(c.cOut * (c.cIn / c.groups) * c.k * c.k, 20 + k);
    const bias = seededValues(c.cOut, 30 + k);
    const alpha = seededValues(c.cOut, 40 + k);
    const want = reference(p, x, w, bias, alpha);
    const packed = packConvWeights(p, w);
    const tasks = convTaskCount(p);
    for (const cuts of [[0, tasks], [0, 1, tasks], [0, Math.floor(tasks / 3), Math.floor((2 * tasks) / 3) + 1, tasks], Array.from({ length: tasks + 1 }, (_, i) => i)]) {
      const got = new Float32Array(want.length).fill(NaN);
      for (let i = 0; i + 1 < cuts.length; i++) if (cuts[i] < cuts[i + 1]) simdConvTasks(p, x, packed, bias, got, c.activation === 2 ? alpha : null, cuts[i], cuts[i + 1]);
      for (let i = 0; i < want.length; i++) assert.ok(Object.is(got[i], want[i]), `case ${k}, cuts ${cuts.length - 1}: [${i}] ${got[i]} vs ${want[i]}`);
    }
  });
});
