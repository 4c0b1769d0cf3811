// Whole passes on worker threads (CpuBackend.runGraph): a batch split between threads, and
// single passes handed to a free worker while another runs here, and one large pass as bands of
// rows, give exactly the bits of one thread; the tape a worker replays (passTape.ts) is the pass the layers made.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Nn4Small2 } from '../src/nets/facenet.ts';
import { MobileFaceNet } from '../src/nets/mobilefacenet.ts';
import { Net } from '../src/nets/net.ts';
import { ReLU } from '../src/layers/activation.ts';
import { Conv2d } from '../src/layers/conv.ts';
import { loadMtcnn } from '../src/nets/weights.ts';
import type { Backend, GraphForward } from '../src/tensor/backend.ts';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import { recordPass, replayPass } from '../src/tensor/cpu/passTape.ts';
import { Tensor } from '../src/tensor/tensor.ts';
import { assertSameBits, seededNet } from './helpers/sameBits.ts';
import { seeded } from './helpers/seeded.ts';

const one = new CpuBackend({ threads: 1 });
// Whether a batch or a large pass is split depends on how long its first pass took, so on a
// fast machine a 37-crop R-Net batch stayed whole and no piece reached the worker. The
// thresholds at 0 split every batch and every banded pass, whatever the machine: the worker's
// lane then takes the first piece before this thread runs any (runGraph starts it first).
const two = new CpuBackend({ threads: 2, splitBatchesFromMs: 0, splitRowsFromMs: 0 });
after(async () => {
  await one.dispose();
  await two.dispose();
});

/** Counts the passes `backend` hands to workers while `run` runs. */
async function workerPasses(backend: CpuBackend, run: () => Promise<void>): Promise<number> {
  const before = backend.workerPasses;
  await run();
  return backend.workerPasses - before;
}

test('a batch split between threads as whole passes equals one thread bit for bit (R-Net, O-Net, MobileFaceNet, nn4.small2)', async () => {
  const mtcnn = loadMtcnn();
  const cases: [Net, number[]][] = [
    [mtcnn.rnet, [256, 3, 24, 24]],
    [mtcnn.rnet, [37, 3, 24, 24]],
    [mtcnn.onet, [64, 3, 48, 48]],
    [seededNet(MobileFaceNet(), 10), [6, 3, 112, 112]],
    [seededNet(Nn4Small2({ batchNorm: true }), 20), [5, 3, 96, 96]],
  ];
  for (const [k, [net, shape]] of cases.entries()) {
    const x = seeded(shape, 500 + k);
    const reference = await net.forward(one, x);
    // The first pass records the tape; the later ones split the batch.
    let passes = 0;
    for (let run = 0; run < 3; run++) {
      passes += await workerPasses(two, async () => assertSameBits(`${net.name} ${shape.join('x')} run ${run}`, reference, await net.forward(two, x)));
    }
    assert.ok(passes >= 1, `${net.name} ${shape.join('x')}: no pass ran on a worker`);
  }
});

test('a split batch or a banded pass, repeated, takes every buffer of this thread from the pool: pieces, their inputs, the workers\' outputs, the joined result', async () => {
  const { onet, pnet } = loadMtcnn();
  const cases: [Net, number[]][] = [
    [onet, [24, 3, 48, 48]],
    [pnet, [1, 3, 240, 320]],
  ];
  for (const [k, [net, shape]] of cases.entries()) {
    const x = seeded(shape, 550 + k);
    const pass = async () => {
      const out = await net.forward(two, x);
      for (const t of Object.values(out)) two.release(t);
    };
    for (let run = 0; run < 3; run++) await pass();
    const before = two.freshBytes;
    const passes = await workerPasses(two, async () => {
      for (let run = 0; run < 3; run++) await pass();
    });
    assert.ok(passes >= 3, `${net.name} ${shape.join('x')}: not split`);
    assert.equal(two.freshBytes - before, 0, `${net.name} ${shape.join('x')}: a repeat of the same split made fresh buffers`);
  }
});

test('single passes given concurrently go to a free worker and give the same bits (P-Net levels)', async () => {
  const { pnet } = loadMtcnn();
  const inputs = [[1, 3, 120, 160], [1, 3, 85, 113], [1, 3, 60, 80], [1, 3, 43, 57]].map((s, k) => seeded(s, 600 + k));
  const reference = await Promise.all(inputs.map((x) => pnet.forward(one, x)));
  await pnet.forward(two, inputs[0]);
  const passes = await workerPasses(two, async () => {
    const got = await Promise.all(inputs.map((x) => pnet.forward(two, x)));
    got.forEach((g, k) => assertSameBits(`pnet ${inputs[k].shape.join('x')}`, reference[k], g));
  });
  assert.ok(passes >= 1, 'no P-Net pass ran on a worker');
});

test('one large P-Net pass runs as bands of rows on both threads and gives the same bits', async () => {
  const { pnet } = loadMtcnn();
  // Even and odd sizes: an odd height leaves ceil-mode pooling a partial window at the bottom.
  for (const [k, shape] of [[1, 3, 480, 640], [1, 3, 431, 517], [1, 3, 250, 1301]].entries()) {
    const x = seeded(shape, 800 + k);
    const reference = await pnet.forward(one, x);
    let passes = 0;
    for (let run = 0; run < 3; run++) {
      passes += await workerPasses(two, async () => assertSameBits(`pnet ${shape.join('x')} run ${run}`, reference, await pnet.forward(two, x)));
    }
    assert.ok(passes >= 1, `pnet ${shape.join('x')}: no band ran on a worker`);
  }
});

test('a fully convolutional pass with a conv in 4x4 Winograd blocks stays whole on two threads and gives the same bits', async () => {
  // Bands of rows would end inside F(4x4, 3x3) blocks, whose rounding reads the whole block's
  // inputs (winogradTileFor): the backend sees the wide conv in the tape and runs the pass whole.
  const wide = seededNet(new Net('wide', [3, null, null], [
    new Conv2d('conv1', { in: 3, out: 32, kernel: 3 }), new ReLU('relu1'),
    new Conv2d('conv2', { in: 32, out: 32, kernel: 3 }), new ReLU('relu2'),
  ], {}, { stride: 1, field: 5 }), 900);
  // 4x4 blocks asked for whatever the environment says (CI also runs this file with TSFACE_WINOGRAD_TILE=2).
  const one4 = new CpuBackend({ threads: 1, winograd: true, winogradTile: 4 });
  const two4 = new CpuBackend({ threads: 2, winograd: true, winogradTile: 4, splitBatchesFromMs: 0, splitRowsFromMs: 0 });
  try {
    for (const shape of [[1, 3, 200, 150], [1, 3, 161, 97]]) {
      const x = seeded(shape, 901);
      const reference = await wide.forward(one4, x);
      for (let run = 0; run < 3; run++) {
        const passes = await workerPasses(two4, async () => assertSameBits(`wide ${shape.join('x')} run ${run}`, reference, await wide.forward(two4, x)));
        assert.equal(passes, 0, `wide ${shape.join('x')}: a band ran on a worker`);
      }
    }
  } finally {
    await one4.dispose();
    await two4.dispose();
  }
});

test('a tape replays the pass it recorded on another backend; a pass it cannot hold is run but not recorded', async () => {
  const net = seededNet(Nn4Small2({ batchNorm: true }), 30);
  const x = seeded([2, 3, 96, 96], 700);
  // The layers' pass as Net.forward hands it to a backend's runGraph.
  let layers: GraphForward | null = null;
  await net.forward(Object.create(one, { runGraph: { value: (_: object, f: GraphForward, input: Tensor) => ((layers = f), f(one, input)) } }), x);
  const { out, pass } = await recordPass(one, layers!, x);
  assert.ok(pass, 'nn4.small2 was not recordable');
  const ops = new Set(pass.tape.steps.map((s) => s.op));
  for (const op of ['conv2d', 'lrn', 'l2Pool2d', 'maxPool2d', 'concat', 'dense', 'l2Normalize']) assert.ok(ops.has(op as never), `tape lacks ${op}`);
  const fresh = new CpuBackend({ threads: 1 });
  assertSameBits('replay', out, await replayPass(fresh, pass.tape, pass.constants, x));
  // Another input of another batch size through the same tape.
  const y = seeded([3, 3, 96, 96], 701);
  assertSameBits('replay of another batch', await net.forward(one, y), await replayPass(fresh, pass.tape, pass.constants, y));

  const resizing = async (b: Backend, input: Tensor) => {
    const img = { width: 4, height: 4, data: new Uint8Array(48).fill(7) };
    const t = await b.resizeArea(img, [{ x: 0, y: 0, width: 4, height: 4 }], 2, 2);
    return { output: await b.add(t, input) };
  };
  const other = await recordPass(one, resizing, new Tensor([1, 3, 2, 2]));
  assert.equal(other.pass, null);
  assert.equal(other.out.output.size, 12);
});
