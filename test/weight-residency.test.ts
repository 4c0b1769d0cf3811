// Weights kept in the kernels' WebAssembly memory between calls (ConvPlan.residentWeights,
// weightResidency.ts) give the same bits as weights copied in at every call, whichever weights
// ran before (a resident copy never stands in for another array, nor a plain call's copy for a
// resident one), for the direct GEMM, 1x1 convs, Winograd, and a run of output channels read from
// the middle of a resident array; and the resident region stays within its budget.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { channelSlices, convSliceTaskCount, convSliceTasks } from '../src/tensor/cpu/convSlices.ts';
import { chunkFor, convReduction, convTaskCount, packConvWeights, type ConvPlan } from '../src/tensor/cpu/conv2d.ts';
import { simdConvTasks } from '../src/tensor/cpu/simdConv.ts';
import { simdGemmSupported } from '../src/tensor/cpu/simdGemm.ts';
import { winogradFits, winogradWeights } from '../src/tensor/cpu/winograd.ts';
import { ResidentWeights } from '../src/tensor/cpu/weightResidency.ts';
import { seededValues } from './helpers/seeded.ts';

const simd = simdGemmSupported();

interface Case { name: string; n: number; cIn: number; h: number; cOut: number; k: number; winograd: boolean; tile?: 2 | 4 }

function planOf(c: Case, resident: boolean): ConvPlan {
  const pad = (c.k - 1) / 2;
  const p: ConvPlan = {
    n: c.n, cIn: c.cIn, inH: c.h, inW: c.h, cOut: c.cOut, kH: c.k, kW: c.k, strideH: 1, strideW: 1, padTop: pad, padLeft: pad,
    outH: c.h, outW: c.h, groups: 1, chunk: 0, activation: 2, simd: true, residentWeights: resident,
  };
  p.chunk = chunkFor(convReduction(p));
  if (c.winograd) {
    assert.ok(winogradFits(p), c.name);
    p.winograd = true;
    p.winogradTile = c.tile ?? 2;
  }
  return p;
}

const cases: Case[] = [
  { name: '3x3 through im2col', n: 2, cIn: 12, h: 9, cOut: 20, k: 3, winograd: false },
  { name: '1x1 reading the input planes', n: 1, cIn: 40, h: 6, cOut: 36, k: 1, winograd: false },
  { name: '3x3 as Winograd', n: 1, cIn: 16, h: 10, cOut: 24, k: 3, winograd: true },
  { name: '3x3 as Winograd F(4x4, 3x3)', n: 2, cIn: 32, h: 10, cOut: 24, k: 3, winograd: true, tile: 4 },
];

test('resident weights give the bits of weights copied in at each call, whatever ran before', { skip: !simd && 'no WebAssembly SIMD' }, () => {
  // Two weight sets per case, run in turns on one kernel memory: a stale copy would show.
  const runs = cases.flatMap((c, k) => [0, 1].map((set) => {
    const x = seededValues(c.n * c.cIn * c.h * c.h, 100 + 10 * k + set).map((v) => 3 * v);
    const w = seededValues(c.cOut * c.cIn * c.k * c.k, 200 + 10 * k + set);
    const bias = seededValues(c.cOut, 300 + k);
    const alpha = seededValues(c.cOut, 400 + k);
    const run = (resident: boolean) => {
      const p = planOf(c, resident);
      // Each call gets its own weight array, as the backend's caches make them.
      const packed = c.winograd ? winogradWeights(p, w) : packConvWeights(p, w);
      const out = new Float32Array(c.n * c.cOut * c.h * c.h);
      return () => {
        out.fill(NaN);
        simdConvTasks(p, x, packed, bias, out, alpha, 0, convTaskCount(p));
        return out.slice();
      };
    };
    return { name: `${c.name}, weights ${set}`, plain: run(false), resident: run(true) };
  }));
  const want = runs.map((r) => r.plain());
  for (let round = 0; round < 3; round++) {
    runs.forEach((r, k) => {
      // A plain call in between: it lays its copy where no resident copy is.
      assert.deepEqual(r.resident(), want[k], `${r.name}, round ${round}, resident`);
      assert.deepEqual(r.plain(), want[k], `${r.name}, round ${round}, copied`);
    });
  }
});

test('a run of output channels reads its rows from the middle of the resident weights (one face cut by channels)', { skip: !simd && 'no WebAssembly SIMD' }, () => {
  for (const c of [
    { name: 'direct', n: 1, cIn: 64, h: 3, cOut: 48, k: 3, winograd: false },
    { name: 'Winograd', n: 1, cIn: 64, h: 4, cOut: 48, k: 3, winograd: true },
    { name: 'Winograd F(4x4, 3x3)', n: 1, cIn: 64, h: 4, cOut: 48, k: 3, winograd: true, tile: 4 as const },
  ]) {
    const x = seededValues(c.cIn * c.h * c.h, 7);
    const w = seededValues(c.cOut * c.cIn * 9, 8);
    const bias = seededValues(c.cOut, 9);
    const alpha = seededValues(c.cOut, 10);
    const outputs = [false, true].map((resident) => {
      const p = planOf(c, resident);
      const bounds = channelSlices(p);
      assert.ok(bounds && bounds.length > 2, `${c.name}: cut into channel slices`);
      const packed = c.winograd ? winogradWeights(p, w) : packConvWeights(p, w);
      const out = new Float32Array(c.cOut * c.h * c.h);
      // Slices one at a time, last first, then all at once: every run of rows.
      const count = convSliceTaskCount(bounds);
      for (let s = count - 1; s >= 0; s--) convSliceTasks(p, bounds, x, packed, bias, out, new Float32Array(0), alpha, s, s + 1);
      const once = out.slice();
      out.fill(NaN);
      convSliceTasks(p, bounds, x, packed, bias, out, new Float32Array(0), alpha, 0, count);
      assert.deepEqual(out, once, `${c.name}: one slice at a time or all at once`);
      return once;
    });
    assert.deepEqual(outputs[1], outputs[0], `${c.name}: resident against copied`);
  }
});

test('resident weights: one copy per buffer, views at their offset, a reset past the budget', () => {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const budget = 4096;
  const resident = new ResidentWeights(memory, budget);
  const a = seededValues(300, 1);
  const b = seededValues(500, 2);
  const at = resident.offsetOf(a)!;
  assert.equal(resident.offsetOf(a), at, 'the same buffer again: the same copy');
  const bt = resident.offsetOf(b)!;
  assert.ok(bt >= at + a.byteLength, 'a second buffer after the first');
  assert.equal(resident.offsetOf(b.subarray(100, 200)), bt + 400, 'a view: its offset in its buffer');
  assert.deepEqual(new Float32Array(memory.buffer, bt, 500), b);
  assert.equal(resident.end % 16, 0, 'the regions after the copies start aligned');
  assert.equal(resident.offsetOf(new Float32Array(budget / 4 + 1)), null, 'over the budget alone: not kept');
  // 300 + 500 floats are 3.2 KB: a third buffer of 2 KB passes the 4 KB budget and starts again at 0.
  const c = seededValues(512, 3);
  assert.equal(resident.offsetOf(c), 0);
  assert.deepEqual(new Float32Array(memory.buffer, 0, 512), c);
  assert.ok(resident.end <= budget);
  // `a` was dropped with the reset: it is copied in again, after `c`, with its own values.
  const again = resident.offsetOf(a)!;
  assert.ok(again >= c.byteLength);
  assert.deepEqual(new Float32Array(memory.buffer, again, 300), a);
});
