// Page side of `npm run bench:browser`: one engine per page (tools/bench/browser.ts opens a fresh
// page for each), the cases timed in the page with performance.now(), medians handed back.
//
// Every import of tsface's src/ is bundled as an import of /dist/browser/tsface.js, so these
// nets, and the layer classes tfjsNet.ts walks, are the browser bundle's own.
import {
  createRuntime,
  FaceDetector,
  FaceEmbedder,
  loadMobileFaceNet,
  loadMtcnn,
  Nn4Small2,
  type GpujsMode,
  type Net,
  type Runtime,
} from '../../../src/index.ts';
import { random } from '../random.ts';
import { timed } from '../timing.ts';
import { netTiming, seeded, timeNet } from './netTiming.ts';
import { middle } from '../timing.ts';
import { NET_CASES, DETECT_CASES, type NetName, type Plan } from './cases.ts';
import type { Engine } from './engines.ts';
import { probeRenderers } from './renderer.ts';
import { startTfjs, tfjsForward } from './tfjsEngine.ts';
import { canvasOf, imageDataOf, type Box, type FacesTiming } from './frames.ts';
import { installHooks } from './hooks.ts';
import { profileNet, type KernelProfile } from './kernelProfile.ts';

export interface Started {
  backend: string;
  mode: string;
  threads: number;
}

export interface Timing {
  ms: number;
  times: number[];
  input: number[];
  gflops: number | null;
  executor?: string;
  mode: string;
  fallback?: string;
  /** Detect cases: faces found and the last run's stage times. */
  note?: string;
}


async function bytesOf(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}


let netsLoaded: Promise<Record<NetName, Net>> | null = null;
function nets(): Promise<Record<NetName, Net>> {
  return (netsLoaded ??= (async () => {
    const mtcnn = loadMtcnn(await bytesOf('/dist/browser/weights/mtcnn.safetensors'));
    const mobilefacenet = loadMobileFaceNet(await bytesOf('/dist/browser/weights/mobilefacenet.safetensors'));
    return { ...mtcnn, mobilefacenet, nn4small2: seeded(Nn4Small2({ batchNorm: false })) };
  })());
}

let engine: Engine | null = null;
let runtime: Runtime | null = null;

export const renderers = probeRenderers;

export async function start(e: Engine): Promise<Started> {
  engine = e;
  if (e.lib === 'tfjs') return startTfjs(e.backend, e.threads);
  runtime = e.backend === 'cpu' ? createRuntime({ backend: 'cpu', threads: e.threads }) : createRuntime({ backend: 'gpujs', gpujsMode: e.mode as GpujsMode });
  const r = runtime.report();
  return { backend: r.backend, mode: r.mode, threads: e.backend === 'cpu' ? e.threads : r.threads };
}

/** What tsface's backend reports after running: the mode that really ran, its executor, any fallback. */
function ran(): Pick<Timing, 'mode' | 'executor' | 'fallback'> {
  const r = runtime!.report();
  return { mode: r.mode, ...(r.executor ? { executor: r.executor } : {}), ...(r.fallback ? { fallback: r.fallback } : {}) };
}

export async function netCase(name: string, plan: Plan): Promise<Timing> {
  const c = NET_CASES.find((k) => k.name === name)!;
  const net = (await nets())[c.net];
  if (engine!.lib !== 'tfjs') return { ...(await timeNet(runtime!.backend, net, plan)), ...ran() };
  const forward = tfjsForward(net, plan.input);
  let times: number[];
  try {
    times = await timed(forward.run, plan.warmup, plan.runs, plan.warmupMs);
  } finally {
    forward.dispose();
  }
  return { ...netTiming(net, plan.input, times), mode: engine!.backend };
}

/** The first detection is the warm-up (it builds the detector's plans); `runs` timed ones follow. */
export async function detectCase(name: string, runs: number): Promise<Timing> {
  const c = DETECT_CASES.find((k) => k.name === name)!;
  if (engine!.lib !== 'tsface') throw new Error('detect cases are tsface only');
  const bytes = await bytesOf(c.url);
  const detector = await FaceDetector.create({ backend: runtime!.backend });
  let last = await detector.detect(bytes);
  const times = await timed(async () => (last = await detector.detect(bytes)), 0, runs);
  const s = last.report.ms;
  const note = `${last.faces.length} faces; decode ${s.decode.toFixed(0)}, pyramid ${s.pyramid.toFixed(0)}, P-Net ${s.pnet.toFixed(0)}, R-Net ${s.rnet.toFixed(0)}, O-Net ${s.onet.toFixed(0)}, post ${s.post.toFixed(0)} ms`;
  return { ms: middle(times), times, input: [1], gflops: null, ...ran(), note };
}

let embedder: Promise<FaceEmbedder> | null = null;

/**
 * What the anchors run, on tsface: detection, landmarks and a MobileFaceNet embedding of every face
 * (FaceEmbedder.embed), on the photo's bytes (tsface decodes them) or, for a frame, on the pixels of
 * the same 640x480 canvas the anchors get. The first run is the warm-up; `runs` timed ones follow.
 */
export async function facesCase(url: string, frame: boolean, warmup: number, runs: number): Promise<FacesTiming & Pick<Timing, 'mode' | 'executor' | 'fallback'>> {
  if (engine!.lib !== 'tsface') throw new Error('faces cases are tsface only here (anchor.ts runs the others)');
  const e = await (embedder ??= FaceEmbedder.create({ backend: runtime!.backend }));
  const canvas = await canvasOf(url, frame);
  const input = frame ? imageDataOf(canvas) : await bytesOf(url);
  let last = await e.embed(input);
  for (let i = 1; i < warmup; i++) last = await e.embed(input);
  const times = await timed(async () => (last = await e.embed(input)), 0, runs);
  return {
    ms: runs ? middle(times) : NaN, times, width: canvas.width, height: canvas.height,
    boxes: last.faces.map((f) => [...f.box] as Box), embeddings: last.faces.length, ...ran(),
  };
}

/** Hooks on the page's WebAssembly, WebGL and WebGPU APIs for profileCase; before `start`, so every program is seen. */
export function profiling(): void {
  installHooks();
}

/** One net case's forward split into shader time, uploads, read-backs, compiles and JavaScript (kernelProfile.ts). */
export async function profileCase(name: string, plan: Plan): Promise<KernelProfile & Pick<Timing, 'mode' | 'executor' | 'fallback'>> {
  if (engine!.lib !== 'tsface') throw new Error('the profile is of tsface backends');
  const c = NET_CASES.find((k) => k.name === name)!;
  const net = (await nets())[c.net];
  return { ...(await profileNet(runtime!.backend, net, random(plan.input, 7), plan.warmup, plan.warmupMs)), ...ran() };
}

export async function stop(): Promise<void> {
  await runtime?.dispose();
  runtime = null;
  engine = null;
  embedder = null;
}
