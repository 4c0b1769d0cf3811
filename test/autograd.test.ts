// The tape against central finite differences on tiny nets made of every layer kind, freezing,
// and gradient accumulation where one tensor feeds two branches.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Tape } from '../src/autograd/tape.ts';
import { PReLU, ReLU, Softmax } from '../src/layers/activation.ts';
import { Branches, Residual, Sequential } from '../src/layers/containers.ts';
import { Conv2d, Dense } from '../src/layers/conv.ts';
import type { Layer } from '../src/layers/layer.ts';
import { BatchNorm, L2Normalize, LRN, ZeroPad2d } from '../src/layers/normalization.ts';
import { AvgPool2d, L2Pool2d, MaxPool2d } from '../src/layers/pool.ts';
import { Net } from '../src/nets/net.ts';
import type { Backend } from '../src/tensor/backend.ts';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import { ArgumentError } from '../src/errors.ts';
import { Tensor } from '../src/tensor/tensor.ts';
import { seeded, seededValues } from './helpers/seeded.ts';

const backend = new CpuBackend({ threads: 1 });
after(() => backend.dispose());

/** Binds seeded values to every parameter: weights scaled by fan-in, BN variances positive, PReLU slopes small. */
function initialise(net: Net, seed: number): Net {
  let s = seed;
  const tensors = new Map<string, Tensor>();
  for (const e of net.expectedTensors()) {
    const size = e.shape.reduce((a, b) => a * b, 1);
    const v = seededValues(size, ++s);
    const fanIn = size / e.shape[0];
    if (e.name.endsWith('.variance')) v.forEach((x, i) => (v[i] = 0.5 + x));
    else if (/bn\d*\.weight$|norm\.weight$/.test(e.name)) v.forEach((x, i) => (v[i] = 1 + x * 0.4));
    else if (e.name.endsWith('.alpha')) v.forEach((x, i) => (v[i] = 0.25 + x * 0.2));
    else if (e.shape.length > 1) v.forEach((x, i) => (v[i] = (x * 2 * Math.sqrt(3)) / Math.sqrt(fanIn)));
    tensors.set(e.name, new Tensor(e.shape, v));
  }
  return net.load(tensors, '<seeded>');
}

/**
 * L = sum(w * y): the seed of the tape is w, and finite differences read L in float64. Also the
 * signs of every ReLU and PReLU input: a difference across a kink says nothing of the gradient.
 */
async function lossOf(net: Net, x: Tensor, w: Float32Array, training: boolean): Promise<{ loss: number; signs: string }> {
  let signs = '';
  const watching = new Proxy(backend, {
    get(target, key) {
      const member = Reflect.get(target, key, target);
      if (typeof member !== 'function') return member;
      return (...args: unknown[]) => {
        if (key === 'relu' || key === 'prelu') signs += Array.from((args[0] as Tensor).data, (v) => (v > 0 ? '+' : '-')).join('');
        return member.apply(target, args);
      };
    },
  });
  // A recorded pass (on a throwaway tape) reads the parameters as they are now; a plain forward
  // pass may meet what the backend cached from the unperturbed weights.
  const { output } = await net.forwardRecorded(watching, x, new Tape(), { training });
  let loss = 0;
  for (let i = 0; i < w.length; i++) loss += w[i] * output.data[i];
  return { loss, signs };
}

async function tapeGradients(net: Net, x: Tensor, w: Float32Array, options: { training?: boolean; trainable?: (p: Tensor) => boolean; backend?: Backend } = {}) {
  const tape = new Tape({ trainable: options.trainable });
  const { output } = await net.forwardRecorded(options.backend ?? backend, x, tape, { training: options.training });
  return { grads: await tape.backward(options.backend ?? backend, [[output, new Tensor(output.shape, w)]]), tape };
}

/**
 * Every parameter's gradient against (L(p + h) - L(p - h)) / 2h. A step of 1e-3 on values of
 * order 1: the float32 forward pass rounds L to about 1e-7 of its terms, 1e-4 after dividing by
 * 2h; the curvature term is h^2 smaller than the gradient. Errors are taken relative to each
 * parameter gradient's largest magnitude.
 */
async function checkAgainstFiniteDifferences(net: Net, x: Tensor, options: { training?: boolean } = {}): Promise<{ worst: number; skipped: string }> {
  const { output } = await net.forward(backend, x);
  const w = seededValues(output.size, 99);
  const training = options.training ?? false;
  // Batch norm's running statistics move on every training-mode pass; they do not change its
  // output there, but are restored so that the net is left as it was.
  const buffers = net.buffers().map((b) => ({ b, saved: b.tensor.data.slice() }));
  const { grads } = await tapeGradients(net, x, w, { training });
  const h = 1e-3;
  let worst = 0;
  let kinks = 0;
  let checked = 0;
  for (const p of net.parameters()) {
    const g = grads.get(p.tensor);
    assert.ok(g, `${p.name}: no gradient`);
    assert.deepEqual(g.shape, p.tensor.shape, `${p.name}: gradient shape`);
    const fd = new Float64Array(p.tensor.size);
    const acrossKink = new Set<number>();
    for (let i = 0; i < p.tensor.size; i++) {
      const v = p.tensor.data[i];
      p.tensor.data[i] = v + h;
      const up = await lossOf(net, x, w, training);
      p.tensor.data[i] = v - h;
      const down = await lossOf(net, x, w, training);
      p.tensor.data[i] = v;
      fd[i] = (up.loss - down.loss) / (2 * h);
      if (up.signs !== down.signs) acrossKink.add(i);
    }
    const scale = Math.max(...fd.map(Math.abs));
    assert.ok(scale > 0, `${p.name}: finite differences are all zero`);
    let err = 0;
    for (let i = 0; i < fd.length; i++) if (!acrossKink.has(i)) err = Math.max(err, Math.abs(g.data[i] - fd[i]) / scale);
    // Coverage, not accuracy: part of every parameter and most of the net are still checked.
    assert.ok(acrossKink.size < fd.length, `${p.name}: all ${fd.length} differences cross a ReLU's kink`);
    kinks += acrossKink.size;
    checked += fd.length;
    assert.ok(err < 2e-3, `${p.name}: tape vs finite differences, ${err.toExponential(2)} of the largest |grad| ${scale.toExponential(2)}`);
    worst = Math.max(worst, err);
  }
  for (const { b, saved } of buffers) b.tensor.data.set(saved);
  assert.ok(kinks <= checked / 4, `${kinks} of ${checked} differences cross a ReLU's kink`);
  return { worst, skipped: `${kinks} of ${checked}` };
}

const conv = (name: string, cin: number, cout: number, kernel: number, extra: Partial<ConstructorParameters<typeof Conv2d>[1]> = {}) =>
  new Conv2d(name, { in: cin, out: cout, kernel, ...extra });

const kinds: { name: string; input: [number, number, number]; layers: () => Layer[]; training?: boolean }[] = [
  { name: 'conv (stride 2, asymmetric padding) and PReLU', input: [2, 6, 6], layers: () => [conv('pre', 2, 3, 3, { stride: 2, padding: [0, 1, 0, 1] }), new PReLU('prelu', 3), conv('post', 3, 2, 1)] },
  { name: 'depthwise conv and ReLU', input: [3, 5, 5], layers: () => [conv('pre', 3, 4, 1), new ReLU('relu'), conv('dw', 4, 4, 3, { groups: 4, padding: 1 }), new ReLU('relu2'), conv('post', 4, 2, 1, { bias: false })] },
  { name: 'max pool (ceil mode, padding)', input: [2, 7, 7], layers: () => [conv('pre', 2, 2, 1), new MaxPool2d('pool', { kernel: 3, stride: 2, padding: 1, ceilMode: true }), conv('post', 2, 2, 1)] },
  { name: 'average pool', input: [2, 6, 6], layers: () => [conv('pre', 2, 3, 1), new AvgPool2d('pool', { kernel: 3, stride: 2, padding: 1 }), conv('post', 3, 2, 1)] },
  { name: 'L2 pool', input: [2, 6, 6], layers: () => [conv('pre', 2, 3, 1), new L2Pool2d('pool', { kernel: 3, stride: 3 }), conv('post', 3, 2, 1)] },
  { name: 'LRN', input: [7, 3, 3], layers: () => [conv('pre', 7, 7, 1), new LRN('lrn', { size: 5, alpha: 0.5, beta: 0.75, k: 1 }), conv('post', 7, 2, 1)] },
  { name: 'batch norm, eval mode', input: [2, 4, 4], layers: () => [conv('pre', 2, 3, 3), new BatchNorm('bn', 3), conv('post', 3, 2, 1)] },
  // A bias before a training-mode batch norm has a zero gradient (the batch mean takes it away):
  // finite differences would only see rounding.
  { name: 'batch norm, training mode', input: [2, 4, 4], training: true, layers: () => [conv('pre', 2, 3, 3, { bias: false }), new BatchNorm('bn', 3), conv('post', 3, 2, 1)] },
  { name: 'zero padding', input: [2, 4, 4], layers: () => [conv('pre', 2, 2, 1), new ZeroPad2d('pad', [1, 0, 2, 1]), conv('post', 2, 2, 3)] },
  { name: 'softmax', input: [2, 3, 3], layers: () => [conv('pre', 2, 4, 1), new Softmax('softmax'), conv('post', 4, 2, 1)] },
  { name: 'dense on a map, then L2 normalisation', input: [2, 3, 3], layers: () => [conv('pre', 2, 3, 1), new Dense('dense', 27, 5), new L2Normalize('l2norm'), new Dense('post', 5, 3)] },
  {
    name: 'inception branches and a residual add',
    input: [3, 6, 6],
    layers: () => [
      conv('pre', 3, 4, 1),
      new Branches('mix', [
        new Sequential('a', [conv('reduce', 4, 2, 1), new PReLU('act', 2), conv('conv', 2, 3, 3, { stride: 2, padding: 1 })]),
        new Sequential('pool', [new MaxPool2d('pool', { kernel: 3, stride: 2 }), conv('proj', 4, 2, 1), new ZeroPad2d('pad', [0, 1, 0, 1])]),
      ]),
      new Residual('res', new Sequential('', [conv('expand', 5, 6, 1), new PReLU('act', 6), conv('project', 6, 5, 1)])),
    ],
  },
];

describe('tape gradients equal central finite differences', () => {
  for (const [k, kind] of kinds.entries()) {
    test(kind.name, async () => {
      const net = initialise(new Net('t', kind.input, kind.layers()), 10 * k);
      const x = seeded([2, ...kind.input], 500 + k);
      const { worst, skipped } = await checkAgainstFiniteDifferences(net, x, { training: kind.training });
      console.log(`  ${kind.name.padEnd(48)} worst ${worst.toExponential(2)} of the largest |grad| (${skipped} across a kink, not compared)`);
    });
  }
});

/** Counts the backend calls by method name (a Proxy, so the layers see a Backend as ever). */
function counting(inner: Backend): { backend: Backend; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const backend = new Proxy(inner, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        calls.set(String(key), (calls.get(String(key)) ?? 0) + 1);
        return v.apply(target, args);
      };
    },
  });
  return { backend, calls };
}

const BACKWARD_OPS = /Backward|sumChannels|sliceChannels|crop2d/;
const backwardCalls = (calls: Map<string, number>) => [...calls].filter(([k]) => BACKWARD_OPS.test(k)).reduce((s, [, n]) => s + n, 0);

describe('freezing', () => {
  const layers = () => [
    new Sequential('stem', [conv('conv', 2, 3, 3, { padding: 1 }), new PReLU('act', 3)]),
    new Sequential('body', [conv('conv', 3, 3, 3, { padding: 1 }), new BatchNorm('bn', 3), new ReLU('relu')]),
    new Sequential('head', [new AvgPool2d('pool', { kernel: 4 }), new Dense('dense', 3, 4)]),
  ];

  test('frozen parameters get no gradients, the rest the same ones, and backward runs fewer ops', async () => {
    const net = initialise(new Net('f', [2, 4, 4], layers()), 7);
    const x = seeded([2, 2, 4, 4], 3);
    const w = seededValues(8, 4);
    const full = counting(backend);
    const all = await tapeGradients(net, x, w, { backend: full.backend });
    const frozen = net.frozenUpTo('body/conv');
    assert.deepEqual([...frozen].map((t) => net.parameters().find((p) => p.tensor === t)!.name), ['f.stem.conv.weight', 'f.stem.conv.bias', 'f.stem.act.alpha', 'f.body.conv.weight', 'f.body.conv.bias']);
    const part = counting(backend);
    const some = await tapeGradients(net, x, w, { backend: part.backend, trainable: (p) => !frozen.has(p) });
    for (const p of net.parameters()) {
      if (frozen.has(p.tensor)) assert.equal(some.grads.get(p.tensor), undefined, `${p.name} is frozen`);
      else assert.deepEqual(some.grads.get(p.tensor)!.data, all.grads.get(p.tensor)!.data, `${p.name}: same gradient with the prefix frozen`);
    }
    // Kept steps: bn, relu, pool, dense of 8 (stem conv, prelu, body conv were dropped); the
    // batch norm's dx is its last backward op: no conv2dBackwardInput at all.
    assert.equal(some.tape.length, 4);
    assert.equal(all.tape.length, 7);
    assert.equal(part.calls.get('conv2dBackwardInput') ?? 0, 0);
    assert.equal(part.calls.get('conv2dBackwardWeight') ?? 0, 0);
    assert.ok(backwardCalls(part.calls) < backwardCalls(full.calls), `${backwardCalls(part.calls)} backward ops frozen vs ${backwardCalls(full.calls)}`);
    assert.equal(full.calls.get('conv2dBackwardInput'), 1, 'the first conv needs no dx');
  });

  test('frozenUpTo takes container and leaf paths and names the valid ones for an unknown name', () => {
    const net = initialise(new Net('f', [2, 4, 4], layers()), 7);
    assert.equal(net.frozenUpTo('stem').size, 3);
    assert.equal(net.frozenUpTo('body').size, 7);
    assert.equal(net.frozenUpTo('head/dense').size, 9);
    assert.throws(() => net.frozenUpTo('stage9'), (e: unknown) => e instanceof ArgumentError && /stage9/.test(e.message) && /stem, body, head/.test(e.message) && /body\/bn/.test(e.message));
  });

  test('parameters exclude batch norm running statistics, which are buffers', () => {
    const net = initialise(new Net('f', [2, 4, 4], layers()), 7);
    assert.deepEqual(net.buffers().map((b) => b.name), ['f.body.bn.mean', 'f.body.bn.variance']);
    assert.ok(!net.parameters().some((p) => p.name.endsWith('.mean') || p.name.endsWith('.variance')));
    assert.equal(net.parameters().length, 9);
  });
});

test('a tensor read by two branches gets the sum of their gradients', async () => {
  const net = initialise(new Net('b', [2, 4, 4], [
    conv('pre', 2, 3, 1),
    new Branches('two', [new Sequential('a', [conv('conv', 3, 2, 1)]), new Sequential('b', [conv('conv', 3, 3, 3, { padding: 1 })])]),
  ]), 21);
  const x = seeded([2, 2, 4, 4], 5);
  const w = seededValues(2 * 5 * 16, 6);
  // Seeding only branch a's channels, then only b's: the two runs' gradients of `pre` add up to
  // the gradient with both seeded.
  const only = (from: number, count: number) => w.map((v, i) => (Math.floor(i / 16) % 5 >= from && Math.floor(i / 16) % 5 < from + count ? v : 0));
  const pre = net.parameters().find((p) => p.name === 'b.pre.weight')!.tensor;
  const both = (await tapeGradients(net, x, w)).grads.get(pre)!;
  const a = (await tapeGradients(net, x, only(0, 2))).grads.get(pre)!;
  const b = (await tapeGradients(net, x, only(2, 3))).grads.get(pre)!;
  for (let i = 0; i < both.size; i++) assert.ok(Math.abs(both.data[i] - (a.data[i] + b.data[i])) <= 1e-6 * Math.max(1, Math.abs(both.data[i])), `weight ${i}`);
  assert.ok(a.data.some((v) => v !== 0) && b.data.some((v) => v !== 0));
});

test('inference is unchanged: a recorded pass gives the plain forward pass its values', async () => {
  const net = initialise(new Net('r', [3, 6, 6], kinds.at(-1)!.layers()), 3);
  const x = seeded([2, 3, 6, 6], 8);
  const plain = (await net.forward(backend, x)).output;
  const recorded = (await net.forwardRecorded(backend, x, new Tape())).output;
  assert.deepEqual(recorded.data, plain.data);
});
