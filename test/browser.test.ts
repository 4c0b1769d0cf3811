// tsface in a real browser: Debian's headless chromium (WebGL2 and WebGPU on SwiftShader) loads
// the browser bundle from a local server and runs the parity suite in the page (test/browser/
// runner.ts) on the CPU backend and on every gpu.js mode, and the torch.autograd backward-op
// fixture (test/browser/backward.ts) on the same backends; the numbers come back here and are
// checked against the PyTorch fixtures (gradients by test/backward-parity.test.ts's rule) and
// against this process's CPU backend. The backward cases cost about what the op cases do (a few
// seconds on SwiftShader), so every mode runs them by default.
//
// Bounds: the CPU backend in the page runs the same WebAssembly as Node and must agree bit for
// bit. Every gpu.js mode is held to the Node parity suite's 1e-5 of each tensor's maximum and
// boxes within 1e-2 px; measured on SwiftShader (IEEE float32 in GL and WebGPU), webasm is in
// fact bit-identical to Node's CPU backend (the printed figures), WebGL2's packed plans (four
// channels a texel, sums in their own order) within 1.1e-6 and WebGPU within 1.4e-6 of the nets'
// outputs, gpu.js's cpu mode (float64 inside a kernel) within 2e-6. A real GPU's exp and pow may need more: none was
// available to measure.
//
// Two pages from two servers: one cross-origin isolated (COOP/COEP headers: SharedArrayBuffer,
// Web Worker threads), one plain, as most sites serve (no SharedArrayBuffer at all). The CPU
// backend runs on both, the defaults (FaceDetector.create(), FaceEmbedder.create()) on both and
// in a module Web Worker of the plain page; gpu.js, which needs no shared memory, on the plain one.
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
import { FaceEmbedder } from '../src/pipeline/embed.ts';
import type { BackendReport } from '../src/tensor/backend.ts';
import { CpuBackend } from '../src/tensor/cpu/backend.ts';
import { Tensor } from '../src/tensor/tensor.ts';
import { assertClose } from './helpers/compare.ts';
import { backwardCases, compareGradients, runBackwardCase } from './helpers/backwardCases.ts';
import { cases, t } from './helpers/opCases.ts';
import { seeded } from './helpers/seeded.ts';
import { sharedSkip, sharedPath } from './helpers/shared.ts';
import type { BackwardPageResult } from './browser/backward.ts';
import { NET_INPUTS, type runDefaults, type Spec } from './browser/runner.ts';

const FULL = process.env.TSFACE_BROWSER_FULL === '1';
const BOUND = 1e-5;

const skip = chromiumMissing();
if (skip) console.warn(`\n!!! ${skip}: SKIPPING the browser suite !!!\n`);

type PageKind = 'isolated' | 'plain';
type SpecCase = { label: string; page: PageKind; spec: Spec; bound: number; exact?: boolean; ran: string; threads?: number };

const SIMD = 'typescript+wasm-simd+winograd';
const cpuSpecs: SpecCase[] = [
  { label: 'cpu backend (wasm SIMD, 2 Web Workers)', page: 'isolated', spec: { backend: 'cpu', threads: 2 }, bound: 0, exact: true, ran: SIMD, threads: 2 },
  { label: 'cpu backend (wasm SIMD, 1 thread)', page: 'isolated', spec: { backend: 'cpu', threads: 1 }, bound: 0, exact: true, ran: SIMD, threads: 1 },
  // Two threads asked for where there is no shared memory: one runs, and the report says why.
  { label: 'cpu backend on a plain page (2 threads asked for)', page: 'plain', spec: { backend: 'cpu', threads: 2 }, bound: 0, exact: true, ran: SIMD, threads: 1 },
];
const gpujsSpecs: SpecCase[] = [
  { label: 'gpujs webgl2', page: 'plain', spec: { backend: 'gpujs', mode: 'webgl2' }, bound: BOUND, ran: 'webgl2' },
  // WebGL1 compiles GLSL ES 1.00, stricter than WebGL2's (loop bounds must be constants).
  { label: 'gpujs webgl', page: 'plain', spec: { backend: 'gpujs', mode: 'webgl' }, bound: BOUND, ran: 'webgl' },
  { label: 'gpujs webgpu', page: 'plain', spec: { backend: 'gpujs', mode: 'webgpu' }, bound: BOUND, ran: 'webgpu' },
  { label: 'gpujs webasm', page: 'plain', spec: { backend: 'gpujs', mode: 'webasm' }, bound: BOUND, ran: 'webasm' },
  { label: 'gpujs cpu', page: 'plain', spec: { backend: 'gpujs', mode: 'cpu' }, bound: BOUND, ran: 'cpu' },
];

/**
 * Installed in the plain page before any of its scripts: records every look-up of
 * SharedArrayBuffer or Atomics (a typeof included), with the stack, and otherwise answers as
 * the page would (no SharedArrayBuffer; the real Atomics).
 */
function trapSharedMemory(): void {
  const touches: string[] = [];
  (globalThis as any).sharedMemoryTouches = touches;
  const atomics = (globalThis as any).Atomics;
  for (const [name, value] of [['SharedArrayBuffer', undefined], ['Atomics', atomics]] as const) {
    Object.defineProperty(globalThis, name, {
      configurable: true,
      get() {
        touches.push(`${name} ${new Error().stack}`);
        return value;
      },
    });
  }
}

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
  const servers: Partial<Record<PageKind, StaticServer>> = {};
  const pages = {} as Record<PageKind, Page>;
  let close: () => Promise<void>;
  const pageErrors: string[] = [];
  const cpu = new CpuBackend({ threads: 1 });
  const nodeDetector = new FaceDetector({ backend: cpu });
  const nodeEmbedder = new FaceEmbedder({ backend: cpu, detector: nodeDetector });
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
      entryPoints: {
        runner: join(REPO, 'test', 'browser', 'runner.ts'),
        worker: join(REPO, 'test', 'browser', 'worker.ts'),
        backward: join(REPO, 'test', 'browser', 'backward.ts'),
      },
      outdir: join(REPO, 'dist', 'browser-test'),
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      logLevel: 'warning',
    });
    servers.isolated = await startServer({ isolated: true });
    servers.plain = await startServer({ isolated: false });
    const c = await launchChromium();
    close = c.close;
    for (const kind of ['isolated', 'plain'] as const) {
      const page = await c.browser.newPage();
      page.on('pageerror', (e) => pageErrors.push(`${kind}: ${e}`));
      page.on('console', (m) => {
        if (m.type() === 'error' && !/GL Driver Message|GPU stall/.test(m.text())) pageErrors.push(`${kind}: ${m.text()}`);
      });
      if (kind === 'plain') await page.evaluateOnNewDocument(trapSharedMemory);
      await page.goto(`${servers[kind]!.url}/test/browser/`);
      await page.evaluate(async () => {
        const suite = await import('/dist/browser-test/runner.js' as string);
        const lib = await import('/dist/browser/tsface.js' as string);
        (globalThis as any).suite = suite.createSuite(lib);
        const backward = await import('/dist/browser-test/backward.js' as string);
        (globalThis as any).backward = (spec: unknown) => backward.runBackwardFixture(lib, spec);
      });
      pages[kind] = page;
    }
  });

  after(async () => {
    await close?.();
    await servers.isolated?.close();
    await servers.plain?.close();
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

  test('one page is cross-origin isolated, the other is not and has no SharedArrayBuffer', async () => {
    const state = (kind: PageKind) => pages[kind].evaluate(() => ({ isolated: crossOriginIsolated, sab: 'SharedArrayBuffer' in globalThis && (globalThis as any).SharedArrayBuffer !== undefined }));
    assert.deepEqual(await state('isolated'), { isolated: true, sab: true });
    assert.deepEqual(await state('plain'), { isolated: false, sab: false });
    // The look-ups just made by this test are not the bundle's.
    await pages.plain.evaluate(() => ((globalThis as any).sharedMemoryTouches.length = 0));
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

  /** The CPU backend's report: the threads expected, and on a plain page the reason there is one. */
  const checkThreads = (kind: PageKind, report: BackendReport, threads?: number) => {
    if (threads !== undefined) assert.equal(report.threads, threads, 'threads in the page');
    if (kind === 'plain') {
      assert.equal(report.threads, 1);
      assert.match(report.threadLimit ?? '', /not cross-origin isolated .*COOP\/COEP.*one thread/);
    } else {
      assert.equal(report.threadLimit, undefined);
    }
  };

  function specTests({ label, page: kind, spec, bound, exact, ran, threads }: SpecCase): void {
    describe(label, () => {
      test('every op case of the PyTorch fixture', async () => {
        const r = await pages[kind].evaluate((s) => (globalThis as any).suite.ops(s), spec as any);
        assert.deepEqual(r.errors, {}, 'ops that threw in the page');
        assert.equal(r.report.fallback, undefined, `fell back: ${r.report.fallback}`);
        assert.equal(r.report.mode, ran);
        if (spec.backend === 'cpu') checkThreads(kind, r.report, threads);
        let worst = 0;
        for (const c of cases) {
          const got = new Tensor(r.outputs[c.name].shape, decode(r.outputs[c.name].data));
          worst = Math.max(worst, assertClose(`${label} ${c.name}`, got, t(c, 'output'), Math.max(bound, BOUND), false).maxRel);
        }
        console.log(`  ${label}: ${cases.length} op cases, max rel error vs PyTorch ${worst.toExponential(2)} (${(r.ms / 1000).toFixed(1)} s, ran ${r.report.mode})`);
      });

      test('whole P-Net, R-Net, O-Net, MobileFaceNet equal Node\'s CPU backend', async () => {
        const r = await pages[kind].evaluate((s) => (globalThis as any).suite.nets(s), spec as any);
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

      test('every backward case of the torch.autograd fixture', async () => {
        const r: BackwardPageResult = await pages[kind].evaluate((s) => (globalThis as any).backward(s), spec as any);
        assert.deepEqual(r.errors, {}, 'backward cases that threw in the page');
        assert.equal(r.report.fallback, undefined, `fell back: ${r.report.fallback}`);
        assert.equal(r.report.mode, ran);
        if (spec.backend === 'cpu') checkThreads(kind, r.report, threads);
        let worst = 0;
        let gradients = 0;
        for (const c of backwardCases) {
          const got = Object.fromEntries(Object.entries(r.gradients[c.name] ?? {}).map(([key, g]) => [key, new Tensor(g.shape, decode(g.data))]));
          for (const check of compareGradients(c, got)) {
            assert.ok(check.ok, `${label} ${c.name}.${check.key}: max rel ${check.maxRel.toExponential(2)}; ${check.problem}`);
            worst = Math.max(worst, check.maxRel);
            gradients++;
          }
          // The CPU backend in the page runs the same WebAssembly as Node: the same floats.
          if (exact) {
            for (const [key, y] of Object.entries(await runBackwardCase(cpu, c))) {
              const bad = got[key].data.findIndex((v, i) => !Object.is(v, y.data[i]));
              assert.equal(bad, -1, `${label} ${c.name}.${key}: first difference from Node at ${bad}`);
            }
          }
        }
        console.log(`  ${label}: ${backwardCases.length} backward cases, ${gradients} gradients, max rel error vs torch.autograd ${worst.toExponential(2)}${exact ? ', bit-identical to Node' : ''} (${(r.ms / 1000).toFixed(1)} s)`);
      });

      // Every shared photo on the 2-thread CPU backend always; on the other backends the bundled
      // example (and a shared LFW photo on webasm) unless TSFACE_BROWSER_FULL=1: SwiftShader and
      // gpu.js's per-size plans make a photo cost seconds to a minute there. (The plain page's
      // defaults test below detects multiface.jpg's 6 faces on one thread.)
      // WebGL1 runs the same GL plans as WebGL2 in another shader dialect: the example photo
      // checks that they compile and agree, without another 8 minutes of SwiftShader.
      const all = (FULL && !(spec.backend === 'gpujs' && spec.mode === 'webgl')) || label.includes('2 Web Workers');
      const lfw = photos().filter((p) => p.url.includes('lfw-sample/Anthony_Hopkins_0001'));
      const images = [EXAMPLE, ...(all ? photos() : spec.backend === 'gpujs' && spec.mode === 'webasm' ? lfw : [])];
      test(`detections equal Node's on ${images.length} photo${images.length > 1 ? 's' : ''}${all ? '' : ' (every shared photo with TSFACE_BROWSER_FULL=1)'}`, async () => {
        const r = await pages[kind].evaluate((s, urls) => (globalThis as any).suite.detect(s, urls), spec as any, images.map((p) => p.url));
        assert.equal(r.report.fallback, undefined);
        if (spec.backend === 'cpu') checkThreads(kind, r.report, threads);
        // Two photos on: the nets' tapes are recorded, and passes go to the Web Worker whole.
        if (spec.backend === 'cpu' && (threads ?? 1) > 1 && images.length > 1) assert.ok((r.workerPasses ?? 0) > 0, 'no whole pass ran on a Web Worker');
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

  /** Defaults run in a page or a worker, checked bit for bit against Node's CPU backend. */
  const checkDefaults = async (where: string, kind: PageKind, r: Awaited<ReturnType<typeof runDefaults>>, images: { url: string; path: string }[]) => {
    let faces = 0;
    for (const [k, p] of images.entries()) {
      const got = r.results[k];
      assert.equal(got.error, undefined, `${where} ${p.url}: ${got.error}`);
      assert.equal(faceDifference(got.faces!, await nodeFacesOf(p)), 0, `${where} ${p.url}: faces differ from Node's`);
      const want = (await nodeEmbedder.embed(readFileSync(p.path))).faces.map((f) => f.embedding);
      assert.equal(got.embeddings!.length, want.length, `${where} ${p.url}: embedded faces`);
      got.embeddings!.forEach((e, i) => assert.deepEqual(decode(e), want[i], `${where} ${p.url}: embedding ${i}`));
      faces += want.length;
    }
    for (const report of [r.detectorReport, r.embedderReport]) {
      assert.equal(report.backend, 'cpu');
      assert.equal(report.mode, SIMD);
      assert.equal(report.fallback, undefined);
      checkThreads(kind, report);
    }
    console.log(`  ${where}: FaceDetector.create() and FaceEmbedder.create() on ${images.length} photo(s), ${faces} faces and embeddings bit-identical to Node (${r.detectorReport.threads} thread(s)${r.detectorReport.threadLimit ? `: ${r.detectorReport.threadLimit}` : ''})`);
  };

  for (const spec of cpuSpecs.filter((s) => s.page === 'isolated')) specTests(spec);

  test('the defaults on the isolated page detect and embed as Node does', async () => {
    const r = await pages.isolated.evaluate((u) => (globalThis as any).suite.defaults(u), [EXAMPLE.url]);
    await checkDefaults('isolated page', 'isolated', r, [EXAMPLE]);
  });

  describe('a plain page (not cross-origin isolated)', () => {
    for (const spec of cpuSpecs.filter((s) => s.page === 'plain')) specTests(spec);

    const images = [EXAMPLE, ...photos().filter((p) => p.url.includes('multiface'))];
    test('the defaults detect and embed as Node does, on one thread, and say why', async () => {
      const r = await pages.plain.evaluate((u) => (globalThis as any).suite.defaults(u), images.map((p) => p.url));
      await checkDefaults('plain page', 'plain', r, images);
    });

    test('the defaults in a module Web Worker of the plain page, importing the bundle', async () => {
      const r = await pages.plain.evaluate((u) => new Promise<any>((resolve) => {
        const worker = new Worker('/dist/browser-test/worker.js', { type: 'module' });
        worker.onmessage = (e) => {
          worker.terminate();
          resolve(e.data);
        };
        worker.onerror = (e) => resolve({ error: e.message });
        worker.postMessage({ bundle: new URL('/dist/browser/tsface.js', location.href).href, urls: u });
      }), [EXAMPLE.url]);
      assert.equal(r.error, undefined, r.error);
      assert.equal(r.isolated, false);
      await checkDefaults('Web Worker of the plain page', 'plain', r, [EXAMPLE]);
      assert.match(r.detectorReport.threadLimit, /^this worker's page/);
    });

    // The constraints of a file:// page without its flags (origin 'null', every fetch cross-origin):
    // a sandboxed frame imports the bundle from the server as from a CDN.
    test('the defaults in a sandboxed frame (opaque origin) of the plain page', async () => {
      const r = await pages.plain.evaluate((base, urls) => new Promise<any>((resolve) => {
        const frame = document.createElement('iframe');
        frame.sandbox.add('allow-scripts');
        frame.srcdoc = `<script type="module">
          let out;
          try {
            const [lib, runner] = await Promise.all([import('${base}/dist/browser/tsface.js'), import('${base}/dist/browser-test/runner.js')]);
            out = { origin: location.origin, ...(await runner.runDefaults(lib, ${JSON.stringify(urls)})) };
          } catch (e) {
            out = { error: String(e?.stack ?? e) };
          }
          parent.postMessage(out, '*');
        </${'script'}>`;
        // A property, not a named listener: tsx's helpers do not exist in the page.
        window.onmessage = (e) => {
          if (e.source !== frame.contentWindow) return;
          window.onmessage = null;
          frame.remove();
          resolve(e.data);
        };
        document.body.append(frame);
      }), servers.plain!.url, [`${servers.plain!.url}${EXAMPLE.url}`]);
      assert.equal(r.error, undefined, r.error);
      assert.equal(r.origin, 'null');
      await checkDefaults('sandboxed frame of the plain page', 'plain', r, [EXAMPLE]);
    });

    // Checked before gpu.js runs here: its webasm mode probes `typeof SharedArrayBuffer` itself.
    test('nothing the CPU backend ran on the plain page looked up SharedArrayBuffer or Atomics', async () => {
      const touches: string[] = await pages.plain.evaluate(() => (globalThis as any).sharedMemoryTouches);
      assert.deepEqual(touches, []);
    });

    test('every gpu.js mode this machine should have is available', async () => {
      const availability = await pages.plain.evaluate(async () => (await import('/dist/browser/tsface.js' as string)).gpujsAvailability());
      console.log(`  availability in the plain page: ${JSON.stringify(availability)}`);
      for (const mode of ['webgl2', 'webgpu', 'webasm', 'cpu']) assert.equal(availability[mode], true, `${mode}: ${availability[mode]}`);
    });

    for (const spec of gpujsSpecs) specTests(spec);
  });

  test('memory stays flat over 100 detections, and nothing in either page logged an error', async () => {
    const lfw = photos().find((p) => p.url.includes('Anthony_Hopkins_0002')) ?? EXAMPLE;
    const page = pages.isolated;
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
