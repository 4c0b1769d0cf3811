// Backend parity in the spirit of ggml's test-backend-ops: every op case of the PyTorch fixture on
// every gpu.js mode this machine can run (sync and threaded), against PyTorch and against the CPU
// backend; then whole nets. Modes that cannot run here are reported as skipped, by name.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import { GpujsBackend, gpujsAvailability, type GpujsMode } from '../src/tensor/gpujs/backend.ts';
import { loadMobileFaceNet, loadMtcnn } from '../src/nets/weights.ts';
import type { Net } from '../src/nets/net.ts';
import { FaceDetector } from '../src/pipeline/mtcnn.ts';
import { Tensor } from '../src/tensor/tensor.ts';
import { assertClose } from './helpers/compare.ts';
import { seeded } from './helpers/seeded.ts';
import { seededNn4 } from './helpers/seededNn4.ts';
import { cases, runCase, t } from './helpers/opCases.ts';
import { batchBucket } from '../src/tensor/gpujs/plan.ts';

const availability = await gpujsAvailability();
const wanted = (process.env.TSFACE_PARITY_MODES ?? 'cpu,webasm,headlessgl,webgpu').split(',') as Exclude<GpujsMode, 'auto'>[];
type Config = { mode: Exclude<GpujsMode, 'auto'>; async: boolean };
const configs = wanted.flatMap((mode): Config[] => (mode === 'webasm' ? [{ mode, async: false }, { mode, async: true }] : [{ mode, async: true }]));
const cpu = new CpuBackend({ threads: 1 });
after(() => cpu.dispose());

test('fused plans pad batches to 1, 2, 3, 4, 6, 8, 12... at most a third padding, capped at the largest plan', () => {
  const buckets = Array.from({ length: 300 }, (_, i) => batchBucket(i + 1, 256));
  assert.deepEqual([...new Set(buckets)], [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256]);
  buckets.forEach((b, i) => assert.ok(i + 1 > 256 ? b === 256 : b >= i + 1 && (b - (i + 1)) / b < 1 / 3 + 1e-9, `${i + 1} -> ${b}`));
  assert.equal(batchBucket(5, 4), 4);
});


/** The nets with their bundled weights; nn4.small2 (BN folded) with seeded weights, so that it runs without ../shared. */
function wholeNets(): [string, Net, Tensor][] {
  const nets = loadMtcnn();
  const nn4 = seededNn4();
  return [
    ['pnet', nets.pnet, seeded([1, 3, 31, 45], 1)],
    ['rnet', nets.rnet, seeded([5, 3, 24, 24], 2)],
    ['onet', nets.onet, seeded([3, 3, 48, 48], 3)],
    ['mobilefacenet', loadMobileFaceNet(), seeded([1, 3, 112, 112], 4)],
    ['nn4.small2', nn4, seeded([2, 3, 96, 96], 7)],
  ];
}

/**
 * f32 accumulation (webasm, GPU) against PyTorch's and the CPU backend's: sums of up to 37*9
 * products differ by reassociation only, well inside 1e-5 of the tensor's maximum; the bound
 * stays 1e-5 everywhere.
 */
const BOUND = 1e-5;

for (const { mode, async } of configs) {
  const label = `gpujs ${mode}${mode === 'webasm' ? (async ? ' (threaded)' : ' (sync)') : ''}`;
  const skip = availability[mode] === true ? false : `${label}: ${availability[mode]}`;
  if (skip) console.log(`SKIPPED ${label}: ${availability[mode]}`);
  describe(label, { skip }, () => {
    const backend = skip ? null : new GpujsBackend({ mode, async });
    after(() => backend?.dispose());
    for (const c of cases) {
      test(`${c.op}: ${c.name}`, async () => {
        const got = await runCase(backend!, c);
        assertClose(`${label} ${c.name} vs PyTorch`, got, t(c, 'output'), BOUND, false);
        assertClose(`${label} ${c.name} vs cpu`, got, await runCase(cpu, c), BOUND, false);
      });
    }
    test('fused conv activations', async () => {
      for (const c of cases.filter((c) => c.op === 'conv2d')) {
        const w = t(c, 'weight');
        const alpha = Tensor.fromArray([w.shape[0]], Array.from({ length: w.shape[0] }, (_, i) => 0.1 * i - 0.3));
        const opts = { ...c.options, activation: { kind: 'prelu' as const, alpha } };
        const bias = c.params.includes('bias') ? t(c, 'bias') : null;
        assertClose(`${c.name} +prelu`, await backend!.conv2d(t(c, 'input'), w, bias, opts), await cpu.conv2d(t(c, 'input'), w, bias, opts), BOUND, false);
      }
    });
    test('pre-processing: area resize of a region batch equals the CPU backend exactly', async () => {
      const { toRgbImage } = await import('../src/image/decode.ts');
      const img = toRgbImage(new URL('../examples/astronaut.jpg', import.meta.url).pathname);
      const regions = [{ x: 0, y: 0, width: 512, height: 512 }, { x: 170, y: 50, width: 110, height: 131 }, { x: 3, y: 400, width: 17, height: 9 }];
      for (const [h, w] of [[24, 24], [48, 48], [157, 211]]) {
        const a = await backend!.resizeArea(img, regions, h, w);
        const b = await cpu.resizeArea(img, regions, h, w);
        assert.deepEqual(a.shape, b.shape);
        // Exact where the kernel computes in float32 (webasm, GPU); gpu.js's cpu mode computes in
        // float64 and rounds once at the end, so the average is not rounded to float32 before the
        // normalisation: one float32 ulp (6e-8 of the value) apart.
        assertClose(`${label} resize ${h}x${w}`, a, b, mode === 'cpu' ? 1.2e-7 : 0, false);
      }
    });
    test('concat of six tensors (four per pass, then folded) equals the CPU backend', async () => {
      const xs = [1, 3, 2, 4, 1, 5].map((c, k) => seeded([2, c, 3, 5], 10 + k));
      assertClose(`${label} concat x6`, await backend!.concat(xs), await cpu.concat(xs), 0, false);
    });
    test('whole nets as fused plans and op by op: P-Net, R-Net, O-Net, MobileFaceNet, nn4.small2 equal the CPU backend', async () => {
      const perOp = new GpujsBackend({ mode, async, fuse: false });
      try {
        for (const [name, net, x] of wholeNets()) {
          const want = await net.forward(cpu, x);
          const fused = await net.forward(backend!, x);
          const single = await net.forward(perOp, x);
          for (const head of Object.keys(want)) {
            assertClose(`${label} ${name}.${head} fused`, fused[head], want[head], BOUND, false);
            assertClose(`${label} ${name}.${head} op by op`, single[head], want[head], BOUND, false);
          }
        }
        const report = backend!.describe();
        // webasm fuses the plan into one WebAssembly memory, webgpu into one command encoder; cpu and
        // headlessgl walk it kernel by kernel.
        const fused = { webasm: async ? 'fused-threaded' : 'fused-sync', webgpu: 'fused-encoder' } as Record<string, string>;
        assert.equal(report.executor, fused[mode] ?? 'generic');
        assert.equal(perOp.describe().executor, undefined);
      } finally {
        await perOp.dispose();
      }
    });
    test('fused plans: a batch is padded to its bucket and a large one runs in chunks, results per item unchanged', async () => {
      const small = new GpujsBackend({ mode, async, maxPlanBatch: 4 });
      try {
        const { rnet } = loadMtcnn();
        const x = seeded([9, 3, 24, 24], 5);
        const got = await rnet.forward(small, x);
        const want = await rnet.forward(cpu, x);
        for (const head of Object.keys(want)) assertClose(`${label} rnet b9 in chunks of 4 .${head}`, got[head], want[head], BOUND, false);
        // Chunks of 4, 4 and 1: two plans; a second pass of another count in the same buckets builds none.
        assert.equal(small.planBuilds, 2);
        await rnet.forward(small, seeded([5, 3, 24, 24], 6));
        assert.equal(small.planBuilds, 2);
        // Two passes of a new shape at once share the one plan they need.
        const [p, q] = await Promise.all([rnet.forward(small, seeded([2, 3, 24, 24], 7)), rnet.forward(small, seeded([2, 3, 24, 24], 8))]);
        assert.equal(small.planBuilds, 3);
        assertClose(`${label} concurrent pass`, q.prob, (await rnet.forward(cpu, seeded([2, 3, 24, 24], 8))).prob, BOUND, false);
        assert.equal(p.prob.shape[0], 2);
      } finally {
        await small.dispose();
      }
    });
    test('detections on the example photo equal the CPU backend', async () => {
      const d1 = new FaceDetector({ backend: backend! });
      const d2 = new FaceDetector({ backend: cpu });
      const path = new URL('../examples/astronaut.jpg', import.meta.url).pathname;
      const [a, b] = [await d1.detect(path), await d2.detect(path)];
      assert.equal(a.faces.length, b.faces.length);
      a.faces.forEach((f, i) => {
        f.box.forEach((v, k) => assert.ok(Math.abs(v - b.faces[i].box[k]) < 1e-3, `box ${k}: ${v} vs ${b.faces[i].box[k]}`));
        assert.ok(Math.abs(f.score - b.faces[i].score) < 1e-5);
      });
      const report = backend!.describe();
      console.log(`  ${label}: ran ${report.mode}${report.fallback ? `, FALLBACK ${report.fallback}` : ''}; ${backend!.compiles} kernels compiled`);
      assert.equal(report.fallback, undefined, 'no silent degradation');
    });
  });
}
