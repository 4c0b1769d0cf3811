// Backward parity: every case of the torch.autograd fixture (tools/reference/backward_ops.py) on
// every gpu.js mode this machine can run (sync and threaded, as test/backend-parity.test.ts),
// against torch's gradients and against the CPU backend, both by the fixture's rule. Modes that
// cannot run here are reported as skipped, by name. Each mode ends with its largest error per op.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Backend } from '../src/tensor/backend.ts';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import { GpujsBackend, gpujsAvailability, type GpujsMode } from '../src/tensor/gpujs/backend.ts';
import type { Conv2dOptions, Pool2dOptions } from '../src/tensor/geometry.ts';
import type { Tensor } from '../src/tensor/tensor.ts';
import { backwardCases, compareGradient, compareGradients, GRADIENT_TOLERANCE, runBackwardCase } from './helpers/backwardCases.ts';
import { seeded } from './helpers/seeded.ts';

const availability = await gpujsAvailability();
const wanted = (process.env.TSFACE_PARITY_MODES ?? 'cpu,webasm,headlessgl,webgpu').split(',') as Exclude<GpujsMode, 'auto'>[];
type Config = { mode: Exclude<GpujsMode, 'auto'>; async: boolean };
const configs = wanted.flatMap((mode): Config[] => (mode === 'webasm' ? [{ mode, async: false }, { mode, async: true }] : [{ mode, async: true }]));
const cpu = new CpuBackend({ threads: 1 });
after(() => cpu.dispose());

/** Asserts every gradient in `got` meets the fixture's rule against `want`; answers the largest relative error. */
function assertGradients(label: string, got: Record<string, Tensor>, want: Record<string, Tensor>): number {
  let worst = 0;
  for (const key of Object.keys(want)) {
    const check = compareGradient(key, got[key], want[key]);
    assert.ok(check.ok, `${label}.${key}: max rel ${check.maxRel.toExponential(2)} > ${GRADIENT_TOLERANCE}; ${check.problem}`);
    worst = Math.max(worst, check.maxRel);
  }
  return worst;
}

/**
 * Channel reductions at a training batch's size (64 items of 48x48: 147k terms a channel), where a
 * float32 running sum would drift past the rule; the CPU backend's sums are float64.
 */
async function trainingSizeGradients(backend: Backend): Promise<Record<string, Tensor>> {
  const x = seeded([64, 4, 48, 48], 11);
  const dy = seeded([64, 4, 48, 48], 12);
  // An offset common to each channel of dy: a float32 sum's error grows with its terms' magnitudes,
  // and dGamma's terms then cancel (x - mean sums to 0). x stays centred: where a channel's mean
  // is far from 0, the CPU backend's dGamma moves with dy's offset by the rounding of its float32 mean.
  for (let i = 0; i < dy.size; i++) dy.data[i] += 1;
  const alpha = seeded([4], 13);
  const stats = await backend.batchStats(x);
  const bn = await backend.batchNormBackward(x, dy, { gamma: seeded([4], 14), ...stats, eps: 1e-5, training: true });
  return {
    dweight: await backend.conv2dBackwardWeight(x, dy, [4, 4, 3, 3], { padding: 1 }),
    dbias: await backend.sumChannels(dy),
    mean: stats.mean,
    variance: stats.variance,
    dgamma: bn.dGamma,
    dx: bn.dx,
    dalpha: (await backend.preluBackward(x, alpha, dy)).dAlpha,
  };
}

/** One op at several batch and spatial sizes with the same constants: a kernel each, compiled once. */
async function resizedGradients(backend: Backend, [n, h, w]: number[]): Promise<Record<string, Tensor>> {
  // 2 -> 3 channels and 5-channel pools: constants no fixture case has, so the first size compiles here.
  const conv: Conv2dOptions = { stride: 2, padding: [1, 0, 1, 1] };
  const pool: Pool2dOptions = { kernel: 3, stride: 2, padding: 1, ceilMode: true };
  const x = seeded([n, 2, h, w], h * w);
  const weight = seeded([3, 2, 3, 3], 3);
  const y = await cpu.conv2d(x, weight, null, conv);
  const dy = seeded([...y.shape], n);
  const px = seeded([n, 5, h, w], 2 * h * w);
  const py = await cpu.maxPool2d(px, pool);
  const pdy = seeded([...py.shape], n + 1);
  return {
    dx: await backend.conv2dBackwardInput(dy, weight, x.shape, conv),
    dweight: await backend.conv2dBackwardWeight(x, dy, weight.shape, conv),
    maxPool: await backend.maxPool2dBackward(px, pdy, pool),
    avgPool: await backend.avgPool2dBackward(pdy, px.shape, pool),
  };
}

for (const { mode, async } of configs) {
  const label = `gpujs ${mode}${mode === 'webasm' ? (async ? ' (threaded)' : ' (sync)') : ''}`;
  const skip = availability[mode] === true ? false : `${label}: ${availability[mode]}`;
  if (skip) console.log(`SKIPPED ${label}: ${availability[mode]}`);
  describe(`backward ops, ${label}`, { skip }, () => {
    const backend = skip ? null : new GpujsBackend({ mode, async });
    after(() => backend?.dispose());
    /** Largest relative error per forward op, against torch and against the CPU backend. */
    const worst = new Map<string, { torch: number; cpu: number }>();

    for (const c of backwardCases) {
      test(`${c.op}: ${c.name}`, async () => {
        const got = await runBackwardCase(backend!, c);
        let torch = 0;
        for (const check of compareGradients(c, got)) {
          assert.ok(check.ok, `${label} ${c.name}.${check.key} vs torch: max rel ${check.maxRel.toExponential(2)} > ${GRADIENT_TOLERANCE}; ${check.problem}`);
          torch = Math.max(torch, check.maxRel);
        }
        const vsCpu = assertGradients(`${label} ${c.name} vs cpu`, got, await runBackwardCase(cpu, c));
        const w = worst.get(c.op) ?? { torch: 0, cpu: 0 };
        worst.set(c.op, { torch: Math.max(w.torch, torch), cpu: Math.max(w.cpu, vsCpu) });
      });
    }

    test('channel reductions at a training batch size hold the rule against the CPU backend\'s float64 sums', async () => {
      assertGradients(`${label} training size`, await trainingSizeGradients(backend!), await trainingSizeGradients(cpu));
    });

    test('one compiled kernel per op serves every batch and spatial size', async () => {
      const sizes = [[1, 10, 11], [3, 7, 9], [2, 16, 5]];
      let compiled = 0;
      for (const [k, size] of sizes.entries()) {
        assertGradients(`${label} ${size.join('x')}`, await resizedGradients(backend!, size), await resizedGradients(cpu, size));
        if (k === 0) compiled = backend!.compiles;
      }
      assert.equal(backend!.compiles, compiled, 'kernels compiled for a new size');
    });

    test('largest error per op (every op of the fixture ran, in the mode asked for)', () => {
      const ops = [...new Set(backwardCases.map((c) => c.op))];
      assert.deepEqual([...worst.keys()].sort(), ops.sort(), 'ops whose every case passed');
      const report = backend!.describe();
      assert.equal(report.mode, mode);
      assert.equal(report.fallback, undefined, 'no silent degradation');
      console.log(`  ${label}: largest relative error per op, vs torch / vs the CPU backend`);
      for (const op of ops) {
        const w = worst.get(op)!;
        console.log(`    ${op.padEnd(12)} ${w.torch.toExponential(2)} / ${w.cpu.toExponential(2)}`);
      }
    });
  });
}
