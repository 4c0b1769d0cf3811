// Packed gpu.js plans (src/tensor/gpujs/packedOps.ts: four channels to a value, the GL modes'
// default) run here in gpu.js's cpu mode, which executes the very kernel sources the GL shaders
// are compiled from: every net, its odd channel counts and its batch padding, against the CPU
// backend at the parity suite's bound. test/browser.test.ts runs them on WebGL2 in a page.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import { GpujsBackend } from '../src/tensor/gpujs/backend.ts';
import { loadMobileFaceNet, loadMtcnn } from '../src/nets/weights.ts';
import type { Backend } from '../src/tensor/backend.ts';
import { Tensor } from '../src/tensor/tensor.ts';
import { assertClose } from './helpers/compare.ts';
import { seeded } from './helpers/seeded.ts';
import { seededNn4 } from './helpers/seededNn4.ts';

const BOUND = 1e-5;

describe('gpu.js packed plans (cpu mode)', () => {
  const cpu = new CpuBackend({ threads: 1 });
  const packed = new GpujsBackend({ mode: 'cpu', packed: true });
  after(async () => {
    await packed.dispose();
    await cpu.dispose();
  });

  test('packing is on by default only where gpu.js compiles to GL', () => {
    assert.equal(new GpujsBackend({ mode: 'cpu' }).packed, false);
    assert.equal(packed.packed, true);
  });

  test('ops without a packed form, and reshapes that change the channel layout, see plain NCHW values', async () => {
    const x = seeded([2, 6, 9, 11], 1);
    const w = seeded([8, 6, 3, 3], 2);
    const grouped = seeded([8, 4, 3, 3], 3);
    const alpha = seeded([8 * 7 * 9], 4);
    const dense = seeded([5, 8 * 7 * 9], 5);
    const chain = async (b: Backend, t: Tensor) => {
      const y = await b.conv2d(t, w, null, { activation: { kind: 'relu' } });
      // A flatten's features are not channels: PReLU per feature, then a dense layer on them.
      const flat = await b.prelu(y.reshape([2, 8 * 7 * 9]), alpha);
      const z = await b.dense(flat, dense, null);
      // A grouped (not depthwise) conv, and a concat of 8 + 6 + 3 channels, run plain.
      const g = await b.conv2d(y, grouped, null, { groups: 2, padding: 1 });
      const cat = await b.concat([g, await b.conv2d(t, seeded([6, 6, 3, 3], 6), null, {}), (await b.conv2d(t, seeded([3, 6, 3, 3], 7), null, {}))]);
      return { z, cat, pooled: await b.maxPool2d(cat, { kernel: 2, stride: 2, ceilMode: true }) };
    };
    const want = await chain(cpu, x);
    const got = await packed.runGraph!({}, chain, x);
    for (const k of Object.keys(want) as (keyof typeof want)[]) assertClose(`packed chain ${k}`, got[k], want[k], BOUND, false);
  });

  test('MTCNN nets (3, 10, 16, 28, 32, 48, 64 channels; stride-2 ceil pools; prelu fused and alone) equal the CPU backend', async () => {
    const nets = loadMtcnn();
    const cases: [string, typeof nets.pnet, Tensor][] = [
      ['pnet', nets.pnet, seeded([1, 3, 31, 45], 1)],
      ['rnet', nets.rnet, seeded([5, 3, 24, 24], 2)],
      ['onet', nets.onet, seeded([2, 3, 48, 48], 3)],
    ];
    for (const [name, net, x] of cases) {
      const want = await net.forward(cpu, x);
      const got = await net.forward(packed, x);
      for (const head of Object.keys(want)) assertClose(`packed ${name}.${head}`, got[head], want[head], BOUND, false);
    }
  });

  test('MobileFaceNet (depthwise, residual adds) equals the CPU backend', async () => {
    const net = loadMobileFaceNet();
    const x = seeded([1, 3, 112, 112], 4);
    const want = await net.forward(cpu, x);
    const got = await net.forward(packed, x);
    for (const head of Object.keys(want)) assertClose(`packed mobilefacenet.${head}`, got[head], want[head], BOUND, false);
  });

  test('nn4.small2 (inception concats, lrn, l2 and average pools) equals the CPU backend', async () => {
    const nn4 = seededNn4();
    const x = seeded([1, 3, 96, 96], 7);
    const want = await nn4.forward(cpu, x);
    const got = await nn4.forward(packed, x);
    for (const head of Object.keys(want)) assertClose(`packed nn4.small2.${head}`, got[head], want[head], BOUND, false);
  });
});
