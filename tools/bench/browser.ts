// tsface's benchmark in a real browser: the cases of `npm run bench` in headless chromium on the
// CPU backend (1 thread, 2 Web Workers) and gpu.js's webgl2/webgpu/webasm modes, with tf.js's
// webgl, webgpu and wasm backends running the same nets in the same browser as anchors; the face
// libraries a page would use instead (@vladmandic/face-api, @vladmandic/human) on their tf.js
// backends beside tsface's FaceEmbedder; and each backend's cold start in a fresh page.
//   npm run bench:browser [-- --json FILE] [--quick] [--only PREFIX] [--modes cpu,webgl2,webgpu,webasm]
//       [--pages isolated,plain] [--detect-emulated] [--no-anchors] [--no-cold]
//   npm run bench:browser -- --profile [--only PREFIX] [--modes cpu,webgl2,webgpu] [--pages isolated]
// Every case runs on a cross-origin-isolated page (COOP/COEP: Web Worker threads) and on a plain
// page (one thread), as most sites serve; rows say which. Each engine gets its own page (tf.js
// keeps one backend per page, and GL contexts go with it); engines on one renderer run side by
// side, case by case; a crashed chromium is replaced. --profile prints, instead of the rows, where
// a forward's time goes per kernel on tsface's CPU backend and gpu.js webgl2 (kernelProfile.ts), and
// op call by op call on gpu.js webgpu.
// Without a GPU, chromium's WebGL2 and WebGPU are SwiftShader, a CPU emulation: those rows say so,
// and only their ratio to tf.js on the same renderer compares engines.
// Each page CPU row has a Node row beside it: the same kernels, nets and inputs in the bench's own
// process (nodeRows.ts), with the page / Node ratio and what a second thread buys on each side.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { buildBrowser } from '../build/browser.ts';
import { chromiumMissing, launchChromium } from '../web/chromium.ts';
import { SHARED_DIR, startServer, type StaticServer } from '../web/server.ts';
import type * as AnchorModule from './browser/anchor.ts';
import { ANCHORS, printAnchorRatios, printFacesTable } from './browser/anchorReport.ts';
import { ANCHOR_MODULE, bundlePage, COLD_MODULE, PAGE_MODULE } from './browser/bundle.ts';
import { DETECT_CASES, NET_CASES, planFor } from './browser/cases.ts';
import { disposeNodeRuntimes, nodeNetCase } from './browser/nodeRows.ts';
import type * as ColdModule from './browser/cold.ts';
import { printCold, printProfile, type ColdEntry } from './browser/coldReport.ts';
import { BENCH_MODES, enginesFor, groupsOf, isSlow, labelOf, surfaceOf, type BenchMode, type Engine } from './browser/engines.ts';
import type { FacesTiming } from './browser/frames.ts';
import type * as PageModule from './browser/page.ts';
import { WASM_LOG } from './browser/hooks.ts';
import { isEmulated, type Renderers } from './browser/renderer.ts';
import { printRatios, printRow, type BrowserRow, type PageKind } from './browser/report.ts';
import { middle, WARMUP } from './timing.ts';

const args = process.argv.slice(2);
const flag = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const jsonFile = flag('--json');
const quick = args.includes('--quick');
const only = flag('--only');
const detectEmulated = args.includes('--detect-emulated');
const profile = args.includes('--profile');
const anchors = !args.includes('--no-anchors') && !profile;
const cold = !args.includes('--no-cold') && !profile;
const modes = (flag('--modes') ?? BENCH_MODES.join(',')).split(',').filter((m) => m) as BenchMode[];
const unknown = modes.filter((m) => !BENCH_MODES.includes(m));
if (unknown.length) throw new Error(`--modes takes ${BENCH_MODES.join(',')}; got ${unknown.join(',')}`);
const PAGE_KINDS: PageKind[] = ['isolated', 'plain'];
const pages = (flag('--pages') ?? PAGE_KINDS.join(',')).split(',').filter((m) => m) as PageKind[];
if (pages.some((k) => !PAGE_KINDS.includes(k))) throw new Error(`--pages takes ${PAGE_KINDS.join(',')}; got ${pages.join(',')}`);
/** --only takes one name prefix, or several joined by commas. */
const wanted = (name: string) => !only || only.split(',').some((p) => name.startsWith(p));
/** A case past this is abandoned, with the rest of its engine: a hung emulated GPU must not eat the run. */
const CASE_LIMIT_MS = (quick ? 120 : 300) * 1000;

/** The pictures of the faces-* rows: the shared photos as they are, and a 640x480 frame cut from the group photo. */
interface FacesCase {
  name: string;
  url: string;
  frame: boolean;
  /** Timed (warm-up, then runs); the others run once, for the faces table only. */
  timed: boolean;
}

function facesCases(): FacesCase[] {
  if (!existsSync(join(SHARED_DIR, 'images', 'multiface.jpg'))) return [];
  const celebs = existsSync(join(SHARED_DIR, 'images', 'celebs')) ? readdirSync(join(SHARED_DIR, 'images', 'celebs')).filter((f) => /\.jpe?g$/i.test(f)).sort() : [];
  return [
    { name: 'faces-multiface', url: '/shared/images/multiface.jpg', frame: false, timed: true },
    { name: 'faces-frame-640x480', url: '/shared/images/multiface.jpg', frame: true, timed: true },
    ...celebs.map((f) => ({ name: `faces-celebs/${f}`, url: `/shared/images/celebs/${f}`, frame: false, timed: false })),
  ].filter((c) => wanted(c.name));
}

type Api = typeof PageModule;
const rows: BrowserRow[] = [];
const colds: ColdEntry[] = [];
const pageErrors: string[] = [];

async function openPage(browser: Browser, url: string, module = PAGE_MODULE): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => {
    // Resource failures come with their address from the response listener below.
    if (m.type() === 'error' && !/GL Driver Message|GPU stall|Failed to load resource/.test(m.text())) pageErrors.push(m.text());
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) pageErrors.push(`HTTP ${r.status()} ${r.url()}`);
  });
  await page.goto(`${url}/tools/bench/browser/`);
  await page.evaluate(async (m) => {
    (globalThis as unknown as { bench: unknown }).bench = await import(m);
  }, module);
  return page;
}

type Params<F> = F extends (...a: infer P) => unknown ? P : never;
type Result<F> = F extends (...a: never[]) => infer R ? Awaited<R> : never;

/** Calls one of the exports of the page's module M in the page, abandoned after CASE_LIMIT_MS. */
function caller<M>() {
  return <K extends keyof M & string>(page: Page, name: K, ...params: Params<M[K]>): Promise<Result<M[K]>> => {
    const run = page.evaluate((n, p) => {
      const bench = (globalThis as unknown as { bench: Record<string, (...a: unknown[]) => unknown> }).bench;
      return bench[n](...p);
    }, name, params as unknown[]) as Promise<Result<M[K]>>;
    let timer: NodeJS.Timeout;
    const limit = new Promise<never>((_, fail) => (timer = setTimeout(() => fail(new Error(`over ${CASE_LIMIT_MS / 1000} s, abandoned`)), CASE_LIMIT_MS)));
    return Promise.race([run, limit]).finally(() => clearTimeout(timer));
  };
}
const call = caller<Api>();
const callAnchor = caller<typeof AnchorModule>();
const callCold = caller<typeof ColdModule>();

function rendererOf(e: Engine, r: Renderers): string {
  const surface = surfaceOf(e);
  return surface === 'cpu' ? 'cpu' : r[surface];
}

/** Errors after which the page, or the whole browser, is gone (SwiftShader's GPU process can crash). */
const GONE = /Target closed|detached Frame|Connection closed|Session closed|Protocol error/;
const OVERTIME = /^over \d+ s, abandoned$/;

/** One engine in its own page, started. */
interface Session {
  e: Engine;
  page: Page;
  started: PageModule.Started;
  renderer: string;
  emulated: boolean;
  /** Set once a case ran past CASE_LIMIT_MS: the page is still busy with it and only gets closed. */
  abandoned?: boolean;
}

/** An anchor library (face-api, human) on one of its tf.js backends, in its own page. */
interface AnchorSession {
  lib: AnchorModule.AnchorLib;
  backend: AnchorModule.AnchorBackend;
  page: Page;
  started: AnchorModule.AnchorStarted;
  renderer: string;
  emulated: boolean;
  abandoned?: boolean;
}

const failed = (name: string, who: string, err: unknown) => console.log(`${name.padEnd(30)} ${who.padEnd(40)} FAILED: ${String((err as Error)?.message ?? err).split('\n')[0]}`);

async function open(browser: Browser, url: string, e: Engine, renderers: Renderers, profiled = false): Promise<Session | null> {
  const page = await openPage(browser, url);
  const renderer = rendererOf(e, renderers);
  try {
    if (profiled) await call(page, 'profiling');
    const started = await call(page, 'start', e);
    if (e.lib === 'tfjs' && started.threads !== e.threads) {
      // tf.js wasm reports the pool XNNPACK really made; a second row at the same count would only repeat the first.
      console.log(`${labelOf(e)}: SKIPPED, asked for ${e.threads} threads, tf.js reports ${started.threads} (${started.mode})`);
    } else {
      return { e, page, started, renderer, emulated: isEmulated(renderer) };
    }
  } catch (err) {
    failed('(start)', labelOf(e), err);
    if (GONE.test(String(err))) throw err;
  }
  await page.close().catch(() => {});
  return null;
}

function rowOf(s: Session, kind: PageKind, name: string, t: PageModule.Timing): BrowserRow {
  const { e, started } = s;
  return {
    case: name, backend: e.lib === 'tfjs' ? `tfjs-${e.backend}` : e.backend, page: kind, mode: e.lib === 'tfjs' ? started.mode : t.mode, threads: started.threads,
    ms: t.ms, where: 'browser', renderer: s.renderer, ...(s.emulated ? { emulation: 'SwiftShader' as const } : {}), ...(t.executor ? { executor: t.executor } : {}),
    batch: t.input[0], input: t.input, gflops: t.gflops, runs: t.times,
  };
}

function facesRow(base: Pick<BrowserRow, 'backend' | 'page' | 'mode' | 'threads' | 'renderer' | 'emulation' | 'executor'>, name: string, t: FacesTiming): BrowserRow {
  return {
    // An untimed run (the faces table's photos) has no median: NaN in the page, null once it crosses to Node.
    case: name, ...base, ms: t.ms ?? NaN, where: 'browser', batch: 1, input: [1, 3, t.height, t.width], gflops: null, runs: t.times,
    boxes: t.boxes.map((b) => b.map((v) => Math.round(v * 10) / 10)), embeddings: t.embeddings,
  };
}

/** Handles a failed case: reported; rethrown when the browser is gone; an overtime page is marked abandoned. */
function caseFailed(name: string, who: string, s: { abandoned?: boolean }, err: unknown): void {
  failed(name, who, err);
  if (GONE.test(String(err))) throw err;
  if (OVERTIME.test((err as Error).message)) s.abandoned = true;
}

/** One case on one session: recorded, or reported as failed; throws when the browser is gone. */
async function runCase(s: Session, kind: PageKind, name: string, run: () => Promise<PageModule.Timing>): Promise<void> {
  try {
    const t = await run();
    record(rowOf(s, kind, name, t), [t.note, t.fallback ? `FALLBACK: ${t.fallback}` : ''].filter((n) => n).join('; '));
  } catch (err) {
    caseFailed(name, labelOf(s.e), s, err);
  }
}

/** The anchors that stand beside a group's tsface engines: their tf.js backend on the same renderer. */
function anchorBackendOf(group: Engine[]): AnchorModule.AnchorBackend {
  const surface = surfaceOf(group[0]);
  return surface === 'webgl2' ? 'webgl' : surface === 'webgpu' ? 'webgpu' : 'wasm';
}

async function openAnchor(browser: Browser, url: string, lib: AnchorModule.AnchorLib, backend: AnchorModule.AnchorBackend, renderers: Renderers): Promise<AnchorSession | null> {
  const page = await openPage(browser, url, ANCHOR_MODULE);
  const renderer = backend === 'wasm' ? 'cpu' : renderers[backend === 'webgl' ? 'webgl2' : 'webgpu'];
  try {
    const started = await callAnchor(page, 'startAnchor', lib, backend);
    return { lib, backend, page, started, renderer, emulated: isEmulated(renderer) };
  } catch (err) {
    failed('(start)', `${lib} ${backend}`, err);
    if (GONE.test(String(err))) throw err;
  }
  await page.close().catch(() => {});
  return null;
}

/**
 * The faces-* cases of one group: tsface's FaceEmbedder on each tsface engine and each anchor on
 * the matching tf.js backend, case by case. On an emulated GPU one pipeline on the 640x480 frame
 * took over 120 s for tsface, face-api and human alike (2 loaded cores): those run with
 * --detect-emulated only. The untimed photos of the faces table run with the first page kind only.
 */
async function runFaces(browser: Browser, url: string, kind: PageKind, group: Engine[], sessions: Session[], renderers: Renderers, withTable: boolean): Promise<void> {
  const cases = facesCases();
  if (!cases.length || !anchors) return;
  const backend = anchorBackendOf(group);
  if (backend !== 'wasm' && isEmulated(rendererOf(group[0], renderers)) && !detectEmulated) {
    for (const c of cases.filter((k) => k.timed)) console.log(`${kind.padEnd(8)} ${c.name.padEnd(30)} ${`tsface, face-api, human on ${backend}`.padEnd(40)} SKIPPED: minutes per picture on an emulated GPU (--detect-emulated runs it)`);
    return;
  }
  const anchorSessions: AnchorSession[] = [];
  try {
    for (const lib of ANCHORS) {
      const a = await openAnchor(browser, url, lib, backend, renderers);
      if (a) anchorSessions.push(a);
    }
    const emulated = backend !== 'wasm' && isEmulated(anchorSessions[0]?.renderer ?? rendererOf(group[0], renderers));
    const runs = quick ? 1 : 3;
    for (const c of cases) {
      if (!c.timed && !withTable) continue;
      if (emulated && !detectEmulated) {
        console.log(`${kind.padEnd(8)} ${c.name.padEnd(30)} ${`tsface, face-api, human on ${backend}`.padEnd(40)} SKIPPED: minutes per picture on an emulated GPU (--detect-emulated runs it)`);
        continue;
      }
      const [warmup, timedRuns] = c.timed ? [1, runs] : [1, 0];
      for (const s of sessions.filter((k) => k.e.lib === 'tsface' && !k.abandoned && !(k.e.backend === 'gpujs' && k.e.mode === 'webasm'))) {
        try {
          const t = await call(s.page, 'facesCase', c.url, c.frame, warmup, timedRuns);
          const base = { backend: s.e.backend, page: kind, mode: t.mode, threads: s.started.threads, renderer: s.renderer, ...(s.emulated ? { emulation: 'SwiftShader' as const } : {}), ...(t.executor ? { executor: t.executor } : {}) };
          record(facesRow(base, c.name, t), `${t.boxes.length} faces, ${t.embeddings} embedded`);
        } catch (err) {
          caseFailed(c.name, labelOf(s.e), s, err);
        }
      }
      for (const a of anchorSessions.filter((k) => !k.abandoned)) {
        try {
          const t = await callAnchor(a.page, 'anchorFaces', c.url, c.frame, warmup, timedRuns);
          const base = { backend: a.lib, page: kind, mode: a.started.mode, threads: a.started.threads, renderer: a.renderer, ...(a.emulated ? { emulation: 'SwiftShader' as const } : {}) };
          record(facesRow(base, c.name, t), `${t.boxes.length} faces, ${t.embeddings} embedded; ${a.lib} ${a.started.version}`);
        } catch (err) {
          caseFailed(c.name, `${a.lib} ${a.backend}`, a, err);
        }
      }
    }
  } finally {
    for (const a of anchorSessions) await a.page.close().catch(() => {});
  }
}

/**
 * Runs a group of engines that share a renderer, their pages open side by side and the cases
 * interleaved (every engine on one case, then the next case), so that the machine's load, which
 * other work on it changes by the minute, weighs on both sides of a ratio alike.
 */
async function runGroup(browser: Browser, url: string, kind: PageKind, group: Engine[], renderers: Renderers, withTable: boolean): Promise<void> {
  const anyCase = NET_CASES.some((k) => wanted(k.name)) || DETECT_CASES.some((k) => wanted(k.name)) || (anchors && facesCases().length > 0);
  if (!anyCase) return;
  const sessions: Session[] = [];
  try {
    for (const e of group) {
      const s = await open(browser, url, e, renderers);
      if (s) sessions.push(s);
    }
    const live = () => sessions.filter((s) => !s.abandoned);
    for (const c of NET_CASES.filter((k) => wanted(k.name))) {
      const slow = live().filter((k) => isSlow(k.e, k.emulated));
      for (const s of live().filter((k) => !slow.includes(k))) await runCase(s, kind, c.name, () => call(s.page, 'netCase', c.name, planFor(c, false, quick)));
      await runInTurns(kind, c, slow);
      await runNodeRows(kind, c, live());
    }
    // Detection is tsface's pipeline; tf.js has no MTCNN of its own to anchor it.
    if (existsSync(join(SHARED_DIR, 'images', 'multiface.jpg'))) {
      for (const c of DETECT_CASES.filter((k) => wanted(k.name))) {
        for (const s of live().filter((k) => k.e.lib === 'tsface')) {
          if (s.emulated && surfaceOf(s.e) !== 'cpu' && !detectEmulated) {
            console.log(`${kind.padEnd(8)} ${c.name.padEnd(30)} ${labelOf(s.e).padEnd(40)} SKIPPED: minutes per detection on an emulated GPU (--detect-emulated runs it)`);
            continue;
          }
          await runCase(s, kind, c.name, () => call(s.page, 'detectCase', c.name, quick ? 1 : 3));
        }
      }
    }
    await runFaces(browser, url, kind, group, live(), renderers, withTable);
  } finally {
    for (const s of sessions) {
      // A case still running in the page would hold `stop` behind it: an abandoned page is just closed.
      if (!s.abandoned) await call(s.page, 'stop').catch(() => {});
      await s.page.close().catch(() => {});
    }
  }
}

/**
 * Slow engines (GPU kinds on an emulated renderer, gpu.js webasm) take their runs in turns: one
 * run of each engine after another, each after a warm-up pass of its own (a tf.js model is built
 * again per call and uploads its weights on its first pass). Their passes take seconds, and timed
 * back to back the same work moved by 1.5x within one bench run (gpu.js webgl2 on nn4.small2's
 * b1 and b32 cases, both one 96x96 face on SwiftShader: 177 and 268 ms), so a ratio of two medians
 * taken minutes apart said as much about the machine's minute as about the engines.
 */
async function runInTurns(kind: PageKind, c: (typeof NET_CASES)[number], sessions: Session[]): Promise<void> {
  const plan = planFor(c, true, quick);
  const turns = new Map<Session, PageModule.Timing[]>(sessions.map((s) => [s, []]));
  for (let r = 0; r < plan.runs; r++) {
    for (const [s, got] of turns) {
      if (s.abandoned || got.length < r) continue;
      try {
        got.push(await call(s.page, 'netCase', c.name, { ...plan, runs: 1 }));
      } catch (err) {
        caseFailed(c.name, labelOf(s.e), s, err);
      }
    }
  }
  for (const [s, got] of turns) {
    if (got.length < plan.runs) continue;
    const times = got.flatMap((t) => t.times);
    const ms = middle(times);
    const first = got[0];
    record(rowOf(s, kind, c.name, { ...first, ms, times, gflops: first.gflops === null ? null : (first.gflops * first.ms) / ms }), [first.note, first.fallback ? `FALLBACK: ${first.fallback}` : ''].filter((n) => n).join('; '));
  }
}

/**
 * The case on tsface's CPU backend in this Node process at each thread count the page's CPU
 * engines ran, right after them (in each page kind's turn, so that page and Node rows of a ratio
 * are timed minutes apart at most on a shared machine).
 */
async function runNodeRows(kind: PageKind, c: (typeof NET_CASES)[number], sessions: Session[]): Promise<void> {
  const threads = [...new Set(sessions.filter((s) => s.e.lib === 'tsface' && s.e.backend === 'cpu').map((s) => s.started.threads))];
  for (const n of threads) {
    try {
      const t = await nodeNetCase(c.net, planFor(c, false, quick), n);
      record({
        case: c.name, backend: 'cpu', page: kind, mode: t.mode, threads: n, ms: t.ms, where: 'node', renderer: 'cpu',
        batch: t.input[0], input: t.input, gflops: t.gflops, runs: t.times,
      }, `Node ${process.version}, this process`);
    } catch (err) {
      failed(c.name, `node cpu x${n}`, err);
    }
  }
}

/**
 * Cold start of every tsface engine of the run: a fresh page each, nothing loaded before cold.ts
 * times the bundle's import, the weights, the detector and the detections of multiface.jpg.
 * On an emulated GPU and on gpu.js webasm each detection takes minutes: those run with --detect-emulated only.
 */
async function runCold(browser: Browser, url: string, kind: PageKind, engines: Engine[], renderers: Renderers): Promise<void> {
  if (!cold || !existsSync(join(SHARED_DIR, 'images', 'multiface.jpg')) || !wanted('cold-multiface')) return;
  for (const e of engines.filter((k) => k.lib === 'tsface')) {
    const renderer = rendererOf(e, renderers);
    const emulated = isEmulated(renderer);
    if (isSlow(e, emulated) && !detectEmulated) {
      // Five detections there outlast CASE_LIMIT_MS (gpu.js webasm: 35-55 s each on 2 loaded cores).
      console.log(`${kind.padEnd(8)} ${'cold-multiface'.padEnd(30)} ${labelOf(e).padEnd(40)} SKIPPED: minutes per detection on ${emulated ? 'an emulated GPU' : 'gpu.js webasm'} (--detect-emulated runs it)`);
      continue;
    }
    const page = await openPage(browser, url, COLD_MODULE);
    const logged: string[] = [];
    page.on('console', (m) => {
      if (m.text().startsWith(WASM_LOG)) logged.push(m.text().slice(WASM_LOG.length + 1));
    });
    try {
      const c = await callCold(page, 'coldStart', e, '/shared/images/multiface.jpg', quick ? 3 : 5);
      // Each line: '<worker name> <module hash>'.
      const perWorker = new Map<string, string[]>();
      for (const line of logged) {
        const [w, key] = line.split(' ');
        perWorker.set(w, [...(perWorker.get(w) ?? []), key]);
      }
      const distinct = new Set(logged.map((l) => l.split(' ')[1])).size;
      perWorker.delete('main');
      const inWorkers = [...perWorker.values()].flat();
      const workers = {
        workers: perWorker.size, compiles: inWorkers.length, distinct, threadsCompiles: logged.length,
        perWorkerDistinct: [...perWorker.values()].reduce((n, keys) => n + keys.length - new Set(keys).size, 0),
      };
      colds.push({ page: kind, label: labelOf(e), emulated, cold: c, workers });
      const row: BrowserRow = {
        case: 'cold-multiface', backend: e.backend, page: kind, mode: c.mode, threads: c.threads, ms: c.bundleMs + c.weightsMs + c.createMs + c.firstMs, where: 'browser', renderer,
        ...(emulated ? { emulation: 'SwiftShader' as const } : {}), ...(c.executor ? { executor: c.executor } : {}), batch: 1, input: [1], gflops: null, runs: [c.firstMs, c.secondMs, ...c.steadyRuns], cold: c,
      };
      record(row, `to first faces: bundle ${c.bundleMs.toFixed(0)} + weights ${c.weightsMs.toFixed(0)} + create ${c.createMs.toFixed(0)} + first ${c.firstMs.toFixed(0)} ms; second ${c.secondMs.toFixed(0)}, steady ${c.steadyMs.toFixed(0)} ms (${(c.secondMs / c.steadyMs).toFixed(2)}x)`);
    } catch (err) {
      failed('cold-multiface', labelOf(e), err);
      if (GONE.test(String(err))) throw err;
    } finally {
      await page.close().catch(() => {});
    }
  }
}

/** --profile: tsface's CPU engines, gpu.js webgl2 and webgpu, each net case split per kernel and op call (kernelProfile.ts). */
async function runProfile(browser: Browser, url: string, kind: PageKind, engines: Engine[], renderers: Renderers): Promise<void> {
  const profiled = engines.filter((e) => e.lib === 'tsface' && (e.backend === 'cpu' || e.mode === 'webgl2' || e.mode === 'webgpu'));
  for (const e of profiled) {
    const s = await open(browser, url, e, renderers, true);
    if (!s) continue;
    try {
      for (const c of NET_CASES.filter((k) => wanted(k.name))) {
        try {
          const p = await call(s.page, 'profileCase', c.name, planFor(c, isSlow(e, s.emulated), quick));
          printProfile(`${kind} page, ${labelOf(e)} (${p.mode}${p.executor ? ` ${p.executor}` : ''}), ${c.name}`, p, s.emulated);
        } catch (err) {
          caseFailed(c.name, labelOf(e), s, err);
          if (s.abandoned) break;
        }
      }
    } finally {
      if (!s.abandoned) await call(s.page, 'stop').catch(() => {});
      await s.page.close().catch(() => {});
    }
  }
}

function record(row: BrowserRow, note: string): void {
  rows.push(row);
  printRow(row, note);
}

const skip = chromiumMissing();
if (skip) {
  console.error(`bench:browser needs chromium: ${skip}`);
  process.exit(2);
}
const began = performance.now();
await buildBrowser();
await bundlePage();
const servers = new Map<PageKind, StaticServer>();
for (const kind of pages) servers.set(kind, await startServer({ isolated: kind === 'isolated' }));
let chromium = await launchChromium();
try {
  console.log(`tsface browser benchmark: net cases the median of ${quick ? 1 : 5} runs after ${quick ? 2 : WARMUP} warm-ups (3 after 1 on emulated GPUs and gpu.js webasm), detections of 3${quick ? ' (quick: 1, smaller batches)' : ''}, ${new Date().toISOString()}`);
  for (const [n, kind] of pages.entries()) {
    const url = servers.get(kind)!.url;
    const probe = await openPage(chromium.browser, url);
    const renderers = await call(probe, 'renderers');
    await probe.close();
    console.log(`\n${kind} page (${kind === 'isolated' ? 'COOP/COEP headers' : 'no COOP/COEP headers, as most sites serve'}): ${renderers.userAgent}`);
    console.log(`  crossOriginIsolated ${renderers.crossOriginIsolated}, ${renderers.hardwareConcurrency} logical cores`);
    console.log(`  WebGL2 renderer: ${renderers.webgl2}${isEmulated(renderers.webgl2) ? '  [SwiftShader emulation]' : ''}`);
    console.log(`  WebGPU adapter:  ${renderers.webgpu}${isEmulated(renderers.webgpu) ? '  [SwiftShader emulation]' : ''}\n`);
    if ((kind === 'isolated') !== renderers.crossOriginIsolated) console.log(`  WARNING: the ${kind} page reports crossOriginIsolated ${renderers.crossOriginIsolated}`);
    const engines = enginesFor(modes, renderers.crossOriginIsolated);
    const step = async (what: () => Promise<void>) => {
      try {
        await what();
      } catch (err) {
        console.log(`  chromium went away (${String((err as Error).message).split('\n')[0]}): starting a fresh one for the next engines`);
        await chromium.close();
        chromium = await launchChromium();
      }
    };
    if (profile) {
      await step(() => runProfile(chromium.browser, url, kind, engines, renderers));
      continue;
    }
    for (const group of groupsOf(engines)) await step(() => runGroup(chromium.browser, url, kind, group, renderers, n === 0));
    await step(() => runCold(chromium.browser, url, kind, engines, renderers));
  }
  if (!profile) {
    printRatios(rows);
    printAnchorRatios(rows);
    if (pages.length) printFacesTable(rows, pages[0]);
    printCold(colds);
  }
  if (pageErrors.length) console.log(`\npage errors (${pageErrors.length}):\n  ${[...new Set(pageErrors)].slice(0, 10).join('\n  ')}`);
  console.log(`\ntotal ${((performance.now() - began) / 1000).toFixed(0)} s`);
  if (jsonFile) {
    writeFileSync(jsonFile, `${JSON.stringify(rows, null, 1)}\n`);
    console.log(`wrote ${rows.length} rows to ${jsonFile}`);
  }
} finally {
  await chromium.close();
  for (const s of servers.values()) await s.close();
  await disposeNodeRuntimes();
}
process.exit(0);
