// Page side of the cold-start rows: a fresh page that has loaded nothing of tsface yet times,
// in order, the bundle's import, the weights' fetch, the detector's creation, the first detection
// of a photo (where kernels, shaders and pipelines compile), a second detection of the same photo,
// and the steady state after it. The hooks count what compiles in each phase, so a module or
// shader compiled twice in one page shows up as a compile after the first detection.
import type * as Tsface from '../../../src/index.ts';
import { compileCounts, compileSince, installHooks, logCompiles, type CompileCounts } from './hooks.ts';
import type { Engine } from './engines.ts';
import { middle } from '../timing.ts';

installHooks();
// The main thread's compiles go to the console too, so the Node side sees one module compiled on several threads.
logCompiles('main');

/** The worker-side hooks (workerHooks.ts), bundled beside this module. */
const WORKER_HOOKS = new URL('./workerHooks.js', import.meta.url).href;
let workers = 0;

/**
 * tsface's kernel workers start from a module that imports the worker-side hooks first, then the
 * real worker script: the same worker, its compiles logged. Other workers start as asked.
 */
globalThis.Worker = class extends Worker {
  constructor(url: string | URL, options?: WorkerOptions) {
    const href = new URL(url, location.href).href;
    if (options?.type !== 'module' || !href.endsWith('/worker.js')) {
      super(url, options);
      return;
    }
    const source = `import ${JSON.stringify(WORKER_HOOKS)};\nimport ${JSON.stringify(href)};\n`;
    super(URL.createObjectURL(new Blob([source], { type: 'text/javascript' })), { ...options, name: `worker-${++workers}` });
  }
};

/** The browser build users load; a variable, so the page bundler leaves the import to the page. */
const BUNDLE = '/dist/browser/tsface.js';

export interface ColdStart {
  mode: string;
  threads: number;
  bundleMs: number;
  weightsMs: number;
  createMs: number;
  firstMs: number;
  secondMs: number;
  /** Median of the detections after the second. */
  steadyMs: number;
  steadyRuns: number[];
  faces: number;
  /** The detector's own stage times (decode, pyramid, pnet, rnet, onet, post) in the first, second and last detection. */
  stages: { first: Record<string, number>; second: Record<string, number>; last: Record<string, number> };
  /** What compiled while the bundle loaded and the detector was made, in the first detection, and in every later one together. */
  compiles: { load: CompileCounts; first: CompileCounts; later: CompileCounts };
  executor?: string;
  fallback?: string;
}


async function fetchBytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

export async function coldStart(e: Engine, photo: string, steadyRuns: number): Promise<ColdStart> {
  if (e.lib !== 'tsface') throw new Error('cold start is measured for tsface engines');
  const before = compileCounts();
  let t = performance.now();
  const ts = (await import(BUNDLE)) as typeof Tsface;
  const bundleMs = performance.now() - t;
  t = performance.now();
  const [weights, bytes] = await Promise.all([fetchBytes('/dist/browser/weights/mtcnn.safetensors'), fetchBytes(photo)]);
  const weightsMs = performance.now() - t;
  t = performance.now();
  const runtime = e.backend === 'cpu' ? ts.createRuntime({ backend: 'cpu', threads: e.threads }) : ts.createRuntime({ backend: 'gpujs', gpujsMode: e.mode });
  const detector = await ts.FaceDetector.create({ backend: runtime.backend, weights });
  const createMs = performance.now() - t;
  const load = compileSince(before);
  try {
    const atFirst = compileCounts();
    t = performance.now();
    const first = await detector.detect(bytes);
    const firstMs = performance.now() - t;
    const first_ = compileSince(atFirst);
    const atLater = compileCounts();
    t = performance.now();
    const second = await detector.detect(bytes);
    const secondMs = performance.now() - t;
    const runs: number[] = [];
    let last = second;
    for (let i = 0; i < steadyRuns; i++) {
      t = performance.now();
      last = await detector.detect(bytes);
      runs.push(performance.now() - t);
    }
    const r = runtime.report();
    return {
      mode: r.mode, threads: e.backend === 'cpu' ? e.threads : r.threads,
      bundleMs, weightsMs, createMs, firstMs, secondMs, steadyMs: middle(runs), steadyRuns: runs, faces: first.faces.length,
      stages: { first: { ...first.report.ms }, second: { ...second.report.ms }, last: { ...last.report.ms } },
      compiles: { load, first: first_, later: compileSince(atLater) },
      ...(r.executor ? { executor: r.executor } : {}), ...(r.fallback ? { fallback: r.fallback } : {}),
    };
  } finally {
    await runtime.dispose();
  }
}
