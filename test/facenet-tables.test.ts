// The Inception nets built from their tables reproduce the published tables: NN2 row by row
// against the FaceNet paper (Schroff et al. 2015, Table 2), nn4.small2.v1 against OpenFace's
// published parameter counts and ../shared/docs/nn4small2.md's multiply-adds.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { NN2, Nn4Small2 } from '../src/nets/facenet.ts';
import type { Net } from '../src/nets/net.ts';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import { Tensor } from '../src/tensor/tensor.ts';

/** FaceNet Table 2 (NN2): row, output size (H, W, C), params, FLOPS as printed (multiply-adds). */
const PAPER_NN2: [string[], [number, number, number], string, string][] = [
  [['conv1'], [112, 112, 64], '9K', '119M'],
  [['pool1', 'lrn1'], [56, 56, 64], '0', '0'],
  [['conv2', 'conv3'], [56, 56, 192], '115K', '360M'],
  [['lrn2', 'pool2'], [28, 28, 192], '0', '0'],
  [['inception_3a'], [28, 28, 256], '164K', '128M'],
  [['inception_3b'], [28, 28, 320], '228K', '179M'],
  [['inception_3c'], [14, 14, 640], '398K', '108M'],
  [['inception_4a'], [14, 14, 640], '545K', '107M'],
  [['inception_4b'], [14, 14, 640], '595K', '117M'],
  [['inception_4c'], [14, 14, 640], '654K', '128M'],
  [['inception_4d'], [14, 14, 640], '722K', '142M'],
  [['inception_4e'], [7, 7, 1024], '717K', '56M'],
  [['inception_5a'], [7, 7, 1024], '1.6M', '78M'],
  [['inception_5b'], [7, 7, 1024], '1.6M', '78M'],
  [['avgpool'], [1, 1, 1024], '0', '0'],
  [['dense'], [1, 1, 128], '131K', '0.1M'],
  [['l2norm'], [1, 1, 128], '0', '0'],
];

function parse(v: string): number {
  const m = /^([\d.]+)([KMB]?)$/.exec(v)!;
  return Number(m[1]) * { '': 1, K: 1e3, M: 1e6, B: 1e9 }[m[2] as '' | 'K' | 'M' | 'B'];
}

/**
 * Within one unit of the last printed digit: the paper mostly rounds up (163,328 -> 164K,
 * 227,328 -> 228K), so half a unit is too strict to describe its own numbers.
 */
function withinRounding(actual: number, printed: string): boolean {
  const p = parse(printed);
  const digits = printed.replace(/[KMB]/, '');
  const unit = printed.endsWith('K') ? 1e3 : printed.endsWith('M') ? 1e6 : printed.endsWith('B') ? 1e9 : 1;
  const step = (digits.includes('.') ? 10 ** -(digits.split('.')[1].length) : 1) * unit;
  return Math.abs(actual - p) <= step;
}

/** Weights only (the paper counts no biases): conv and dense weight tensors. */
function weightCount(net: Net, prefixes: string[]): number {
  return net.expectedTensors()
    .filter((e) => e.name.endsWith('.weight') && prefixes.some((p) => e.name.startsWith(`${net.name}.${p}.`)))
    .reduce((s, e) => s + e.shape.reduce((a, b) => a * b, 1), 0);
}

const backend = new CpuBackend();
after(() => backend.dispose());

test('NN2 reproduces every row of the FaceNet paper: output size, params and multiply-adds', async () => {
  const net = NN2();
  const rows = net.describe();
  // Seeded random weights: the sizes come from a real forward pass, not only from shape algebra.
  let s = 1;
  const tensors = new Map(net.expectedTensors().map((e) => {
    const t = new Tensor(e.shape);
    for (let i = 0; i < t.size; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; t.data[i] = (s / 2 ** 32 - 0.5) * 0.1; }
    return [e.name, t];
  }));
  net.load(tensors, 'seeded');
  const seen = new Map<string, readonly number[]>();
  await net.forward(backend, new Tensor([1, 3, 224, 224]), (name, t) => seen.set(name, t.shape.slice(1)));
  let totalMacs = 0;
  for (const [names, [h, w, c], params, flops] of PAPER_NN2) {
    const last = names[names.length - 1];
    const shape = seen.get(last)!;
    assert.deepEqual(shape.length === 1 ? [1, 1, shape[0]] : [shape[1], shape[2], shape[0]], [h, w, c], `${last} output size`);
    const mine = rows.filter((r) => names.includes(r.name.split('/')[0]));
    const macs = mine.reduce((a, r) => a + r.macs, 0);
    const weights = weightCount(net, names);
    totalMacs += macs;
    console.log(`  ${names.join('+').padEnd(16)} ${[h, w, c].join('x').padEnd(12)} params ${String(weights).padStart(8)} (paper ${params.padStart(4)})  MACs ${(macs / 1e6).toFixed(1).padStart(6)}M (paper ${flops})`);
    assert.ok(withinRounding(weights, params), `${names} params ${weights} vs ${params}`);
    // conv1: 7x7x3x64 at 112x112 is 118.0M multiply-adds; the paper prints 119M.
    assert.ok(withinRounding(macs, flops) || (names[0] === 'conv1' && Math.abs(macs - 118.0e6) < 0.1e6), `${names} MACs ${macs} vs ${flops}`);
  }
  const totalParams = weightCount(net, PAPER_NN2.flatMap((r) => r[0]));
  console.log(`  total: ${(totalParams / 1e6).toFixed(2)}M weights (paper 7.5M), ${(totalMacs / 1e9).toFixed(3)}G multiply-adds (paper 1.6B)`);
  assert.ok(withinRounding(totalParams, '7.5M'), `total params ${totalParams}`);
  assert.ok(withinRounding(totalMacs, '1.6B'), `total MACs ${totalMacs}`);
  assert.deepEqual([...seen.get('l2norm')!], [128]);
});

test('nn4.small2.v1: 3,733,968 parameters as Torch counts them, 3,743,280 as Keras does, 200,118,272 MACs', () => {
  const rows = Nn4Small2().describe();
  const all = rows.reduce((s, r) => s + r.params, 0);
  const bnChannels = rows.filter((r) => r.op === 'batchNorm').reduce((s, r) => s + r.params / 4, 0);
  assert.equal(all, 3_743_280); // BatchNorm: 4 numbers per channel (Keras count_params)
  assert.equal(all - 2 * bnChannels, 3_733_968); // 2 per channel (Torch getParameters)
  assert.equal(rows.reduce((s, r) => s + r.macs, 0), 200_118_272);
  assert.deepEqual(rows.at(-1)!.output, [128]);
  const folded = Nn4Small2({ batchNorm: false }).describe();
  assert.equal(folded.reduce((s, r) => s + r.macs, 0), 200_118_272);
});
