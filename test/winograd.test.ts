// Winograd F(2x2, 3x3) and F(4x4, 3x3) convs (winograd.ts, simdWinograd.ts, simdWinogradF4.ts) against the direct SIMD GEMM path:
// the same convolution with different rounding, so outputs agree within a bound scaled by the
// size of the sum they round (sum over the window of |weight * input|, plus |bias|); convs the
// rule leaves out run the direct path bit for bit; the switch's default and environment.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tape } from '../src/autograd/tape.ts';
import { Nn4Small2 } from '../src/nets/facenet.ts';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import type { Conv2dOptions } from '../src/tensor/geometry.ts';
import { WINOGRAD4_MIN_CIN, winogradTileFor } from '../src/tensor/cpu/winograd.ts';
import { Tensor } from '../src/tensor/tensor.ts';
import { convMagnitude } from './helpers/convMagnitude.ts';
import { seededNet } from './helpers/sameBits.ts';
import { seeded } from './helpers/seeded.ts';

/**
 * Per output: sum over the window of |w x| + |bias|, in float64. The measured worst error of
 * the F(2x2, 3x3) path against the direct one is about 2e-7 of this (float32 epsilon 6e-8: the
 * transforms add a few roundings of values of this size), 2e-6 a 10x margin; F(4x4, 3x3)'s
 * larger transform constants give about 1e-6 (with the usual points 0, +-1, +-2 it was above
 * 2e-6 on these cases, one reason for its points). The bound still catches a wrong tap, tile
 * or channel, which is off by a sizeable part of the sum.
 */
const TOLERANCE = 2e-6;

type Act = 'none' | 'relu' | 'prelu';

// [input shape, cOut, padding, activation]: padding 0/1, odd and even output sizes (the last
// tile's spare half), one and several batch items (tasks spanning items), narrow images (several
// tile rows per task) and wide ones (a row split into chunks), channel counts off the 4-row blocks.
const CASES: [number[], number, number, Act][] = [
  [[1, 8, 6, 6], 8, 0, 'none'], [[1, 8, 4, 5], 8, 0, 'relu'], [[1, 9, 3, 3], 9, 1, 'none'],
  [[2, 8, 7, 9], 12, 1, 'relu'], [[3, 16, 11, 11], 20, 0, 'prelu'], [[5, 28, 11, 11], 48, 0, 'prelu'],
  [[4, 64, 10, 10], 64, 0, 'prelu'], [[2, 96, 12, 12], 128, 1, 'relu'], [[3, 32, 23, 23], 64, 0, 'prelu'],
  [[1, 16, 40, 333], 32, 0, 'prelu'], [[1, 10, 9, 301], 16, 1, 'relu'], [[2, 12, 5, 270], 13, 1, 'prelu'],
  [[7, 8, 2, 2], 8, 1, 'none'], [[1, 40, 1, 9], 10, 1, 'relu'], [[2, 200, 6, 6], 36, 1, 'prelu'],
  // From 32 input channels the same shapes again, which F(4x4, 3x3) takes where allowed.
  [[1, 32, 6, 6], 8, 0, 'none'], [[2, 32, 7, 9], 12, 1, 'relu'], [[3, 48, 11, 11], 20, 0, 'prelu'],
  [[1, 32, 40, 333], 32, 0, 'prelu'], [[1, 33, 9, 301], 16, 1, 'relu'], [[2, 36, 5, 270], 13, 1, 'prelu'],
  [[7, 32, 2, 2], 8, 1, 'none'], [[1, 36, 3, 3], 9, 1, 'none'],
];

const compared = new Map<string, Promise<{ worst: number; outputs: Tensor[] }>>();

/** Every case against the direct path (once per thread count and block side); the worst error ratio, and each case's Winograd output. */
function compare(threads: number, winogradTile: 2 | 4): Promise<{ worst: number; outputs: Tensor[] }> {
  const key = `${threads}/${winogradTile}`;
  if (!compared.has(key)) compared.set(key, compareOnce(threads, winogradTile));
  return compared.get(key)!;
}

async function compareOnce(threads: number, winogradTile: 2 | 4): Promise<{ worst: number; outputs: Tensor[] }> {
  const direct = new CpuBackend({ threads, winograd: false });
  const wino = new CpuBackend({ threads, winograd: true, winogradTile });
  let worst = 0;
  const outputs: Tensor[] = [];
  try {
    let seed = 1;
    for (const [shape, cOut, pad, act] of CASES) {
      const x = seeded(shape, seed++);
      const w = seeded([cOut, shape[1], 3, 3], seed++);
      const bias = seeded([cOut], seed++);
      const alpha = seeded([cOut], seed++);
      const activation: Conv2dOptions['activation'] = act === 'none' ? undefined : act === 'relu' ? { kind: 'relu' } : { kind: 'prelu', alpha };
      const options: Conv2dOptions = { padding: pad, activation };
      const a = await direct.conv2d(x, w, bias, options);
      const b = await wino.conv2d(x, w, bias, options);
      // Run twice: the second call reuses the cached transformed weights and kernel memory.
      const b2 = await wino.conv2d(x, w, bias, options);
      assert.deepEqual(b.shape, a.shape);
      assert.deepEqual(b2.data, b.data, `${shape} w${cOut}: repeat differs`);
      outputs.push(b);
      const size = convMagnitude(x, w, bias, pad, a.shape[2], a.shape[3]);
      let differs = false;
      for (let i = 0; i < a.size; i++) {
        const ratio = Math.abs(a.data[i] - b.data[i]) / size[i];
        worst = Math.max(worst, ratio);
        assert.ok(ratio <= TOLERANCE, `${shape} w${cOut} p${pad} ${act} [${i}]: ${b.data[i]} vs ${a.data[i]} (sum of |products| ${size[i]})`);
        if (a.data[i] !== b.data[i]) differs = true;
      }
      // Proof that the Winograd path ran: its rounding differs somewhere.
      assert.ok(differs, `${shape} w${cOut}: no difference, Winograd did not run?`);
    }
  } finally {
    await direct.dispose();
    await wino.dispose();
  }
  return { worst, outputs };
}

for (const tile of [2, 4] as const) {
  for (const threads of [1, 2]) {
    test(`Winograd convs, ${tile === 4 ? 'F(4x4, 3x3) allowed' : 'F(2x2, 3x3) only'}, equal the direct SIMD convs within 2e-6 of the sum of |products|, ${threads} thread${threads > 1 ? 's' : ''}`, async (t) => {
      const { worst } = await compare(threads, tile);
      t.diagnostic(`worst |winograd - direct| / sum |products|: ${worst.toExponential(2)}`);
    });
  }
}

test('allowed 4x4 blocks, convs from 32 input channels on maps over 6x6 round differently from F(2x2, 3x3), the others as it bit for bit', async () => {
  const two = await compare(1, 2);
  const four = await compare(1, 4);
  let large = 0;
  let small = 0;
  CASES.forEach(([shape, cOut], k) => {
    const [, , outH, outW] = four.outputs[k].shape;
    if (winogradTileFor({ cIn: shape[1], outH, outW }, 4) === 4) {
      large++;
      assert.notDeepEqual(four.outputs[k].data, two.outputs[k].data, `${shape} w${cOut}: F(4x4) gave F(2x2)'s bits`);
    } else {
      if (shape[1] >= WINOGRAD4_MIN_CIN) small++;
      assert.deepEqual(four.outputs[k].data, two.outputs[k].data, `${shape} w${cOut}`);
    }
  });
  // Both kinds of wide conv are among the cases: on large maps, and on maps of at most 6x6.
  assert.ok(large >= 4 && small >= 3, `${large} large, ${small} small`);
});

test('a pass to differentiate (Net.forwardRecorded) keeps F(2x2, 3x3) blocks: the bits of a backend without 4x4 blocks', async () => {
  const net = seededNet(Nn4Small2({ batchNorm: true }), 40);
  const x = seeded([2, 3, 96, 96], 41);
  const four = new CpuBackend({ threads: 1, winograd: true, winogradTile: 4 });
  const two = new CpuBackend({ threads: 1, winograd: true, winogradTile: 2 });
  try {
    assert.equal(four.winogradTile, 4);
    const recorded = await net.forwardRecorded(four, x, new Tape());
    const exact = await net.forward(two, x);
    assert.deepEqual(recorded.output.data, exact.output.data);
    // The 4x4 blocks' rounding shows in the layers after a conv that takes them (this seeded
    // net's embedding no longer shows it, since inception 4's and 5's small maps take 2x2 blocks).
    const layers = async (backend: CpuBackend) => {
      const seen: Float32Array[] = [];
      await net.forward(backend, x, (_, t) => seen.push(Float32Array.from(t.data)));
      return seen;
    };
    const [fast, slow] = [await layers(four), await layers(two)];
    assert.ok(fast.some((t, i) => t.some((v, j) => !Object.is(v, slow[i][j]))), 'the inference pass took F(2x2) blocks too');
    // The option itself, on one conv.
    const input = seeded([1, 32, 12, 12], 42);
    const w = seeded([16, 32, 3, 3], 43);
    assert.deepEqual((await four.conv2d(input, w, null, { padding: 1, exact: true })).data, (await two.conv2d(input, w, null, { padding: 1 })).data);
  } finally {
    await four.dispose();
    await two.dispose();
  }
});

test('convs the rule leaves out (stride 2, 1x1, 5x5, grouped, depthwise, few channels) run the direct path bit for bit', async () => {
  for (const threads of [1, 2]) {
    const direct = new CpuBackend({ threads, winograd: false });
    const wino = new CpuBackend({ threads, winograd: true });
    const cases: [number[], number[], Conv2dOptions][] = [
      [[2, 16, 33, 35], [32, 16, 3, 3], { stride: 2, padding: 1, activation: { kind: 'relu' } }],
      [[2, 32, 30, 30], [48, 32, 1, 1], { activation: { kind: 'relu' } }],
      [[1, 16, 20, 20], [16, 16, 5, 5], { padding: 2 }],
      [[2, 32, 20, 20], [32, 8, 3, 3], { groups: 4, padding: 1 }],
      [[2, 32, 20, 20], [32, 1, 3, 3], { groups: 32, padding: 1 }],
      [[4, 3, 40, 40], [10, 3, 3, 3], {}],
      [[4, 16, 40, 40], [4, 16, 3, 3], {}],
    ];
    try {
      let seed = 100;
      for (const [xs, ws, options] of cases) {
        const x = seeded(xs, seed++);
        const w = seeded(ws, seed++);
        const bias = seeded([ws[0]], seed++);
        const a = await direct.conv2d(x, w, bias, options);
        const b = await wino.conv2d(x, w, bias, options);
        assert.deepEqual(b.shape, a.shape);
        assert.deepEqual(b.data, a.data, `${xs} w${ws} ${JSON.stringify(options)}`);
      }
    } finally {
      await direct.dispose();
      await wino.dispose();
    }
  }
});

test('Winograd is on by default, off with the option or TSFACE_WINOGRAD=0, and needs the SIMD kernels', () => {
  const before = process.env.TSFACE_WINOGRAD;
  try {
    delete process.env.TSFACE_WINOGRAD;
    assert.equal(new CpuBackend({ threads: 1 }).winograd, true);
    assert.equal(new CpuBackend({ threads: 1 }).describe().mode, 'typescript+wasm-simd+winograd');
    assert.equal(new CpuBackend({ threads: 1, winograd: false }).describe().mode, 'typescript+wasm-simd');
    assert.equal(new CpuBackend({ threads: 1, winograd: true, simd: false }).winograd, false);
    process.env.TSFACE_WINOGRAD = '1';
    assert.equal(new CpuBackend({ threads: 1 }).winograd, true);
    assert.equal(new CpuBackend({ threads: 1, winograd: false }).winograd, false);
    process.env.TSFACE_WINOGRAD = '0';
    assert.equal(new CpuBackend({ threads: 1 }).winograd, false);
  } finally {
    if (before === undefined) delete process.env.TSFACE_WINOGRAD;
    else process.env.TSFACE_WINOGRAD = before;
  }
});

test('4x4 blocks are allowed by default, not with winogradTile: 2 or TSFACE_WINOGRAD_TILE=2', () => {
  const before = process.env.TSFACE_WINOGRAD_TILE;
  try {
    delete process.env.TSFACE_WINOGRAD_TILE;
    assert.equal(new CpuBackend({ threads: 1 }).winogradTile, 4);
    assert.equal(new CpuBackend({ threads: 1, winogradTile: 2 }).winogradTile, 2);
    process.env.TSFACE_WINOGRAD_TILE = '2';
    assert.equal(new CpuBackend({ threads: 1 }).winogradTile, 2);
    assert.equal(new CpuBackend({ threads: 1, winogradTile: 4 }).winogradTile, 4);
  } finally {
    if (before === undefined) delete process.env.TSFACE_WINOGRAD_TILE;
    else process.env.TSFACE_WINOGRAD_TILE = before;
  }
});
