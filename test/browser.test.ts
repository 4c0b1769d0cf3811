// tsface in a real browser: Debian's headless chromium (WebGL2 and WebGPU on SwiftShader) loads
// the browser bundle from a local server and runs the parity suite in the page (test/browser/
// runner.ts) on the CPU backend and on every gpu.js mode; the numbers come back here and are
// checked against the PyTorch op fixture and against this process's CPU backend.
//
// Bounds: the CPU backend in the page runs the same WebAssembly as Node and must agree bit for
// bit. Every gpu.js mode is held to the Node parity suite's 1e-5 of each tensor's maximum and
// boxes within 1e-2 px; measured on SwiftShader (IEEE float32 in GL and WebGPU), WebGL2, WebGPU
// and webasm are in fact bit-identical to Node's CPU backend (the printed figures), gpu.js's cpu
// mode (float64 inside a kernel) within 2e-6. A real GPU's exp and pow may need more: none was
// available to measure.
//
// TSFACE_BROWSER_FULL=1 also runs every shared photo on every mode (minutes on SwiftShader);
// .ci/run runs it once.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { build } from 'esbuild';
import type { Page } from 'puppeteer-core';
import { buildBrowser } from '../tools/build/browser.ts';
import { chromiumMissing, launchChromium } from '../tools/web/chromium.ts';
import { REPO, startServer, type StaticServer } from '../tools/web/server.ts';
import { loadMobileFaceNet, loadMtcnn } from '../src/nets/weights.ts';
import { FaceDetector, type Face } from '../src/pipeline/mtcnn.ts';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import { Tensor } from '../src/tensor/tensor.ts';
import { assertClose } from './helpers/compare.ts';
import { cases, t } from './helpers/opCases.ts';
import { seeded } from './helpers/seeded.ts';
import { sharedSkip, sharedPath } from './helpers/shared.ts';
import { NET_INPUTS, type Spec } from './browser/runner.ts';

const FULL = process.env.TSFACE_BROWSER_FULL === '1';
const BOUND = 1e-5;

const skip = chromiumMissing();
if (skip) console.warn(`\n!!! ${skip}: SKIPPING the browser suite !!!\n`);

const specs: { label: string; spec: Spec; bound: number; exact?: boolean; ran: string }[] = [
  { label: 'cpu backend (wasm SIMD, 2 Web Workers)', spec: { backend: 'cpu', threads: 2 }, bound: 0, exact: true, ran: 'typescript+wasm-simd+winograd' },
  { label: 'cpu backend (wasm SIMD, 1 thread)', spec: { backend: 'cpu', threads: 1 }, bound: 0, exact: true, ran: 'typescript+wasm-simd+winograd' },
  { label: 'gpujs webgl2', spec: { backend: 'gpujs', mode: 'webgl2' }, bound: BOUND, ran: 'webgl2' },
  { label: 'gpujs webgpu', spec: { backend: 'gpujs', mode: 'webgpu' }, bound: BOUND, ran: 'webgpu' },
  { label: 'gpujs webasm', spec: { backend: 'gpujs', mode: 'webasm' }, bound: BOUND, ran: 'webasm' },
  { label: 'gpujs cpu', spec: { backend: 'gpujs', mode: 'cpu' }, bound: BOUND, ran: 'cpu' },
];

const decode = (b64: string) => {
  const bytes = Buffer.from(b64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};

/** The shared photos as the page fetches them, and their paths here. */
function photos(): { url: string; path: string }[] {
  if (sharedSkip('images')) return [];
  const names = ['multiface.jpg', 'celebs/angelina_jolie.jpg', 'celebs/kate_siegel.jpg', 'celebs/paul_rudd.jpg', 'celebs/shea_whigham.jpg', 'lfw-sample/Anthony_Hopkins_0001.jpg', 'lfw-sample/Anthony_Hopkins_0002.jpg'];
  return names.map((n) => ({ url: `/shared/images/${n}`, path: sharedPath(`images/${n}`) }));
}
const EXAMPLE = { url: '/examples/astronaut.jpg', path: join(REPO, 'examples', 'astronaut.jpg') };

/** Largest box and landmark coordinate difference between two detections of one image, faces in order. */
function faceDifference(a: Face[], b: Face[]): number {
  assert.equal(a.length, b.length, `face count ${a.length} vs ${b.length}`);
  let worst = 0;
  a.forEach((f, i) => {
    f.box.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - b[i].box[k]))));
    f.landmarks.forEach((p, k) => p.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - b[i].landmarks[k][j])))));
  });
  return worst;
}

describe('browser (headless chromium)', { skip }, () => {
  let server: StaticServer;
  let close: () => Promise<void>;
  let page: Page;
  const pageErrors: string[] = [];
  const cpu = new CpuBackend({ threads: 1 });
  const nodeDetector = new FaceDetector({ backend: cpu });
  const nodeFaces = new Map<string, Face[]>();
  const nodeFacesOf = async (p: { url: string; path: string }) => {
    if (!nodeFaces.has(p.url)) nodeFaces.set(p.url, (await nodeDetector.detect(readFileSync(p.path))).faces);
    return nodeFaces.get(p.url)!;
  };

  before(async () => {
    const { files } = await buildBrowser();
    const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
    console.log(`  bundle: tsface.js ${kib(files['tsface.js'])}, worker.js ${kib(files['worker.js'])}, weights ${Object.keys(files).filter((f) => f.startsWith('weights/')).join(', ')}`);
    await build({
      entryPoints: [join(REPO, 'test', 'browser', 'runner.ts')],
      outfile: join(REPO, 'dist', 'browser-test', 'runner.js'),
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      logLevel: 'warning',
    });
    server = await startServer({ isolated: true });
    ({ close } = await launchChromium().then(async (c) => {
      page = await c.browser.newPage();
      page.on('pageerror', (e) => pageErrors.push(String(e)));
      page.on('console', (m) => {
        if (m.type() === 'error' && !/GL Driver Message|GPU stall/.test(m.text())) pageErrors.push(m.text());
      });
      return c;
    }));
    await page.goto(`${server.url}/test/browser/`);
    await page.evaluate(async () => {
      const suite = await import('/dist/browser-test/runner.js' as string);
      (globalThis as any).suite = suite.createSuite(await import('/dist/browser/tsface.js' as string));
    });
  });

  after(async () => {
    await close?.();
    await server?.close();
    await cpu.dispose();
  });

  test('the bundle is one ES module with no node: imports, the worker and the weights beside it', () => {
    const dir = join(REPO, 'dist', 'browser');
    for (const f of ['tsface.js', 'worker.js', 'weights/mtcnn.safetensors', 'weights/mobilefacenet.safetensors']) assert.ok(existsSync(join(dir, f)), f);
    const text = readFileSync(join(dir, 'tsface.js'), 'utf8');
    assert.doesNotMatch(text, /(from\s*|import\s*\(\s*|require\s*\(\s*)["']node:/);
    assert.match(text, /export\s*\{/);
    assert.equal(statSync(join(dir, 'weights/mtcnn.safetensors')).size, statSync(join(REPO, 'weights/mtcnn.safetensors')).size);
  });

  test('the page is cross-origin isolated, and every gpu.js mode this machine should have is available', async () => {
    const state = await page.evaluate(async () => ({ isolated: crossOriginIsolated, availability: await (await import('/dist/browser/tsface.js' as string)).gpujsAvailability() }));
    console.log(`  availability in the page: ${JSON.stringify(state.availability)}`);
    assert.equal(state.isolated, true);
    for (const mode of ['webgl2', 'webgpu', 'webasm', 'cpu']) assert.equal(state.availability[mode], true, `${mode}: ${state.availability[mode]}`);
  });

  const netInputs = () => NET_INPUTS.map(([name, shape, seed]) => [name, seeded(shape, seed)] as const);
  const nodeNets = (() => {
    let cached: Promise<Record<string, Tensor>> | null = null;
    return () => (cached ??= (async () => {
      const nets = { ...loadMtcnn(), mobilefacenet: loadMobileFaceNet() } as Record<string, import('../src/nets/net.ts').Net>;
      const out: Record<string, Tensor> = {};
      for (const [name, x] of netInputs()) for (const [head, y] of Object.entries(await nets[name].forward(cpu, x))) out[`${name}.${head}`] = y;
      return out;
    })());
  })();

  for (const { label, spec, bound, exact, ran } of specs) {
    describe(label, () => {
      test('every op case of the PyTorch fixture', async () => {
        const r = await page.evaluate((s) => (globalThis as any).suite.ops(s), spec as any);
        assert.deepEqual(r.errors, {}, 'ops that threw in the page');
        assert.equal(r.report.fallback, undefined, `fell back: ${r.report.fallback}`);
        assert.equal(r.report.mode, ran);
        let worst = 0;
        for (const c of cases) {
          const got = new Tensor(r.outputs[c.name].shape, decode(r.outputs[c.name].data));
          worst = Math.max(worst, assertClose(`${label} ${c.name}`, got, t(c, 'output'), Math.max(bound, BOUND), false).maxRel);
        }
        console.log(`  ${label}: ${cases.length} op cases, max rel error vs PyTorch ${worst.toExponential(2)} (${(r.ms / 1000).toFixed(1)} s, ran ${r.report.mode})`);
      });

      test('whole P-Net, R-Net, O-Net, MobileFaceNet equal Node\'s CPU backend', async () => {
        const r = await page.evaluate((s) => (globalThis as any).suite.nets(s), spec as any);
        const want = await nodeNets();
        let worst = 0;
        for (const [key, y] of Object.entries(want)) {
          const got = decode(r.outputs[key].data);
          assert.deepEqual(r.outputs[key].shape, [...y.shape], key);
          if (exact) {
            const bad = got.findIndex((v, i) => !Object.is(v, y.data[i]));
            assert.equal(bad, -1, `${key}: first difference at ${bad}`);
          } else {
            worst = Math.max(worst, assertClose(`${label} ${key}`, new Tensor(y.shape, got), y, bound, false).maxRel);
          }
        }
        console.log(`  ${label}: nets ${exact ? 'bit-identical to Node' : `max rel error vs Node ${worst.toExponential(2)}`} (${(r.ms / 1000).toFixed(1)} s, executor ${r.report.executor ?? 'op by op'})`);
      });

      // Every shared photo on the 2-thread CPU backend always; on the other backends the bundled
      // example (and a shared LFW photo on webasm) unless TSFACE_BROWSER_FULL=1: SwiftShader and
      // gpu.js's per-size plans make a photo cost seconds to a minute there.
      const all = FULL || label.includes('2 Web Workers');
      const lfw = photos().filter((p) => p.url.includes('lfw-sample/Anthony_Hopkins_0001'));
      const images = [EXAMPLE, ...(all ? photos() : spec.backend === 'gpujs' && spec.mode === 'webasm' ? lfw : [])];
      test(`detections equal Node's on ${images.length} photo${images.length > 1 ? 's' : ''}${all ? '' : ' (every shared photo with TSFACE_BROWSER_FULL=1)'}`, async () => {
        const r = await page.evaluate((s, urls) => (globalThis as any).suite.detect(s, urls), spec as any, images.map((p) => p.url));
        assert.equal(r.report.fallback, undefined);
        if (spec.backend === 'cpu') assert.equal(r.report.threads, spec.threads, 'threads in the page');
        // Two photos on: the nets' tapes are recorded, and passes go to the Web Worker whole.
        if (spec.backend === 'cpu' && (spec.threads ?? 1) > 1 && images.length > 1) assert.ok((r.workerPasses ?? 0) > 0, 'no whole pass ran on a Web Worker');
        let worst = 0;
        for (const [k, p] of images.entries()) {
          const got = r.results[k];
          assert.equal(got.error, undefined, `${p.url}: ${got.error}`);
          worst = Math.max(worst, faceDifference(got.faces, await nodeFacesOf(p)));
        }
        console.log(`  ${label}: ${images.length} photos, ${r.results.reduce((n: number, x: any) => n + x.faces.length, 0)} faces, max box/landmark difference from Node ${worst.toExponential(2)} px (${(r.ms / 1000).toFixed(1)} s)`);
        // CPU backend: the same WebAssembly as Node, so the same floats; gpu.js: the same faces within 1e-2 px.
        assert.ok(worst <= (exact ? 0 : 1e-2), `max difference ${worst} px`);
      });
    });
  }

  test('memory stays flat over 100 detections, and nothing in the page logged an error', async () => {
    const lfw = photos().find((p) => p.url.includes('Anthony_Hopkins_0002')) ?? EXAMPLE;
    const session = await page.createCDPSession();
    const heap = async () => {
      await session.send('HeapProfiler.collectGarbage');
      return (await page.metrics()).JSHeapUsedSize!;
    };
    await page.evaluate((u) => (globalThis as any).suite.detect({ backend: 'cpu', threads: 1 }, [u], 5), lfw.url);
    const before = await heap();
    const r = await page.evaluate((u) => (globalThis as any).suite.detect({ backend: 'cpu', threads: 1 }, [u], 100), lfw.url);
    const afterHeap = await heap();
    const ms = r.results[0].ms as number[];
    console.log(`  100 detections (${lfw.url}, cpu backend): JS heap ${(before / 2 ** 20).toFixed(1)} -> ${(afterHeap / 2 ** 20).toFixed(1)} MiB, median ${ms.sort((a, b) => a - b)[50].toFixed(0)} ms`);
    assert.ok(afterHeap - before < 16 * 2 ** 20, `heap grew by ${((afterHeap - before) / 2 ** 20).toFixed(1)} MiB`);
    assert.deepEqual(pageErrors, []);
  });
});
