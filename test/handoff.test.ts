// The spin hand-off (src/tensor/cpu/handoff.ts): shares a worker takes from its mailbox are
// computed as one thread computes them; single-face passes of the embedding nets, whose ops
// are shared one by one at the spin hand-off's default size threshold, give the bits of one
// thread; and whole passes by message still reach a worker that was serving its mailbox.
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, test } from 'node:test';
import { Nn4Small2 } from '../src/nets/facenet.ts';
import { MobileFaceNet } from '../src/nets/mobilefacenet.ts';
import type { Net } from '../src/nets/net.ts';
import { loadMtcnn } from '../src/nets/weights.ts';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import { simdMaxPool2d } from '../src/tensor/cpu/simdPool.ts';
import { ThreadPool } from '../src/tensor/cpu/threadPool.ts';
import { windowGeometry } from '../src/tensor/geometry.ts';
import type { Tensor } from '../src/tensor/tensor.ts';
import { assertSameBits, seededNet } from './helpers/sameBits.ts';
import { seeded } from './helpers/seeded.ts';

const one = new CpuBackend({ threads: 1 });
const spin = new CpuBackend({ threads: 2, handoff: 'spin' });
const message = new CpuBackend({ threads: 2, handoff: 'message' });
after(async () => {
  await one.dispose();
  await spin.dispose();
  await message.dispose();
});

/**
 * Max pooling of `shape` shared with the pool's worker; when `withWorker`, this thread's first
 * share waits (at most 30 s) until the worker has written a plane of its own, so the op has
 * shares run on the worker whatever the machine's timing. Checks the bits against one thread.
 */
async function sharedPooling(pool: ThreadPool, shape: [number, number, number, number], seed: number, withWorker: boolean): Promise<void> {
  const g = windowGeometry('maxPool2d', shape, [3, 3], 2, 0, true);
  const planes = g.n * g.c;
  const plane = g.outH * g.outW;
  const src = seeded(shape, seed).data;
  const x = new Float32Array(new SharedArrayBuffer(src.byteLength));
  x.set(src);
  const out = new Float32Array(new SharedArrayBuffer(4 * planes * plane)).fill(Number.NaN);
  const reference = new Float32Array(planes * plane);
  simdMaxPool2d(g, src, reference);
  let here = 0;
  await pool.run({ kind: 'maxPool', window: g, x, out }, planes, (from, to) => {
    const t0 = performance.now();
    const worked = () => out.some((v, i) => !Number.isNaN(v) && (i < from * plane || i >= to * plane));
    while (withWorker && here === 0 && !worked() && performance.now() - t0 < 30_000);
    simdMaxPool2d(g, x, out, from, to);
    here += to - from;
  });
  if (withWorker) assert.ok(here < planes, `${shape.join('x')}: the worker took no share in 30 s`);
  for (let i = 0; i < out.length; i++) {
    if (!Object.is(out[i], reference[i])) assert.fail(`${shape.join('x')}: element ${i} is ${out[i]} shared with the worker, ${reference[i]} on one thread`);
  }
}

test('shares a worker takes from its mailbox give the bits one thread gives, op after op', async () => {
  const pool = new ThreadPool(2, { handoff: 'spin' });
  try {
    for (let op = 0; op < 20; op++) await sharedPooling(pool, [2, 32, 23, 23], 40 + op, true);
    assert.equal(pool.sharedOps, 20);
    // More distinct ops than the mailbox keeps plain data for (P-Net's plans differ per image
    // size): the oldest are dropped on both sides and the worker still reads every op right.
    for (let op = 0; op < 2100; op++) await sharedPooling(pool, [1, 2, 5, 5 + op], 60 + op, false);
    for (let op = 0; op < 5; op++) await sharedPooling(pool, [2, 32, 23, 23 + op], 90 + op, true);
  } finally {
    await pool.dispose();
  }
});

test('single-face passes of MobileFaceNet and nn4.small2 share their ops at the default threshold and give the bits of one thread', async () => {
  const cases: [Net, number[]][] = [
    [seededNet(MobileFaceNet(), 10), [1, 3, 112, 112]],
    [seededNet(Nn4Small2({ batchNorm: true }), 20), [1, 3, 96, 96]],
  ];
  for (const [k, [net, shape]] of cases.entries()) {
    const x = seeded(shape, 900 + k);
    const reference = await net.forward(one, x);
    const shared: number[] = [];
    for (const [name, two] of [['spin', spin], ['message', message]] as const) {
      const before = two.sharedOps;
      for (let run = 0; run < 3; run++) assertSameBits(`${net.name} ${name} run ${run}`, reference, await net.forward(two, x));
      shared.push(two.sharedOps - before);
    }
    // With messages the default threshold (50 M multiply-adds) keeps all but the largest ops on one thread.
    assert.ok(shared[0] >= 3 * 10 && shared[0] > 3 * shared[1], `${net.name}: ${shared[0]} ops shared in 3 passes with the spin hand-off, ${shared[1]} with messages`);
  }
});

test('a worker serving its mailbox still takes whole passes by message, between ops shared with it', async () => {
  const { rnet } = loadMtcnn();
  const split = new CpuBackend({ threads: 2, handoff: 'spin', splitBatchesFromMs: 0, shareOpsFromMacs: 100_000 });
  try {
    const single = seeded([1, 3, 24, 24], 1000);
    const batch = seeded([16, 3, 24, 24], 1001);
    const big = seeded([64, 3, 24, 24], 1002);
    const refSingle = await rnet.forward(one, single);
    const refBatch = await rnet.forward(one, batch);
    await rnet.forward(split, batch);
    // Ops of a pass on this thread only reach the worker when none runs a whole pass.
    const conv = seeded([8, 16, 40, 40], 1003);
    const w = seeded([16, 16, 3, 3], 1004);
    const refConv = await one.conv2d(conv, w, null, { padding: 1 });
    for (let round = 0; round < 4; round++) {
      const sharedBefore = split.sharedOps;
      assertSameBits(`conv round ${round}`, { y: refConv }, { y: await split.conv2d(conv, w, null, { padding: 1 }) });
      assert.ok(split.sharedOps > sharedBefore, 'the conv was not offered to the worker');
      const passesBefore = split.workerPasses;
      assertSameBits(`rnet batch round ${round}`, refBatch, await rnet.forward(split, batch));
      assert.ok(split.workerPasses > passesBefore, 'no piece of the batch ran on the worker');
      assertSameBits(`rnet single round ${round}`, refSingle, await rnet.forward(split, single));
    }
    assert.equal((await rnet.forward(split, big)).prob.shape[0], 64);
  } finally {
    await split.dispose();
  }
});

test('a pool disposed while the mailbox still tracks buffers stays quiet when they are collected', async () => {
  // The mailbox tells its worker about collected buffers (a FinalizationRegistry): with the
  // pool disposed, that notice once went to a worker no longer there and threw in a callback
  // nobody awaited, failing whatever test ran next.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const pool = new ThreadPool(2, { handoff: 'spin' });
  const g = windowGeometry('maxPool2d', [1, 2, 5, 5], [3, 3], 2, 0, true);
  // Kept until the pool is gone, so that their collection (hundreds of ids to forget) comes after.
  let kept: Float32Array[] = [];
  for (let op = 0; op < 300; op++) {
    const x = new Float32Array(new SharedArrayBuffer(4 * 50));
    const out = new Float32Array(new SharedArrayBuffer(4 * 2 * g.outH * g.outW));
    kept.push(x, out);
    await pool.run({ kind: 'maxPool', window: g, x, out }, 2, (from, to) => simdMaxPool2d(g, x, out, from, to));
  }
  await pool.dispose();
  kept = [];
  const failures: unknown[] = [];
  const listener = (e: unknown) => failures.push(e);
  process.on('uncaughtException', listener);
  try {
    for (let i = 0; i < 5; i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    process.off('uncaughtException', listener);
  }
  assert.deepEqual(failures.map(String), []);
  assert.equal(pool.available, 0, 'the pool, still referenced (a backend holds its pool after dispose), has no workers');
});
