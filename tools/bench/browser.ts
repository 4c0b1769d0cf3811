// tsface's benchmark in a real browser: the cases of `npm run bench` in headless chromium on the
// CPU backend (1 thread, 2 Web Workers) and gpu.js's webgl2/webgpu/webasm modes, with tf.js's
// webgl, webgpu and wasm backends running the same nets in the same browser as anchors.
//   npm run bench:browser [-- --json FILE] [--quick] [--only PREFIX] [--modes cpu,webgl2,webgpu,webasm] [--detect-emulated]
// Each engine gets its own page (tf.js keeps one backend per page, and GL contexts go with it);
// engines on one renderer run side by side, case by case; a crashed chromium is replaced.
// Without a GPU, chromium's WebGL2 and WebGPU are SwiftShader, a CPU emulation: those rows say so,
// and only their ratio to tf.js on the same renderer compares engines.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { buildBrowser } from '../build/browser.ts';
import { chromiumMissing, launchChromium } from '../web/chromium.ts';
import { SHARED_DIR, startServer } from '../web/server.ts';
import { bundlePage, PAGE_MODULE } from './browser/bundle.ts';
import { DETECT_CASES, NET_CASES, planFor } from './browser/cases.ts';
import { BENCH_MODES, enginesFor, groupsOf, isSlow, labelOf, surfaceOf, type BenchMode, type Engine } from './browser/engines.ts';
import type * as PageModule from './browser/page.ts';
import { isEmulated, type Renderers } from './browser/renderer.ts';
import { printRatios, printRow, type BrowserRow } from './browser/report.ts';

const args = process.argv.slice(2);
const flag = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const jsonFile = flag('--json');
const quick = args.includes('--quick');
const only = flag('--only');
const detectEmulated = args.includes('--detect-emulated');
const modes = (flag('--modes') ?? BENCH_MODES.join(',')).split(',').filter((m) => m) as BenchMode[];
const unknown = modes.filter((m) => !BENCH_MODES.includes(m));
if (unknown.length) throw new Error(`--modes takes ${BENCH_MODES.join(',')}; got ${unknown.join(',')}`);
const wanted = (name: string) => !only || name.startsWith(only);
/** A case past this is abandoned, with the rest of its engine: a hung emulated GPU must not eat the run. */
const CASE_LIMIT_MS = (quick ? 120 : 300) * 1000;

type Api = typeof PageModule;
const rows: BrowserRow[] = [];
const pageErrors: string[] = [];

async function openPage(browser: Browser, url: string): Promise<Page> {
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
  await page.evaluate(async (module) => {
    (globalThis as unknown as { bench: unknown }).bench = await import(module);
  }, PAGE_MODULE);
  return page;
}

/** Calls one of page.ts's exports in the page, abandoned after CASE_LIMIT_MS. */
function call<K extends keyof Api>(page: Page, name: K, ...params: Parameters<Api[K]>): Promise<Awaited<ReturnType<Api[K]>>> {
  const run = page.evaluate((n, p) => {
    const bench = (globalThis as unknown as { bench: Record<string, (...a: unknown[]) => unknown> }).bench;
    return bench[n](...p);
  }, name, params as unknown[]) as Promise<Awaited<ReturnType<Api[K]>>>;
  let timer: NodeJS.Timeout;
  const limit = new Promise<never>((_, fail) => (timer = setTimeout(() => fail(new Error(`over ${CASE_LIMIT_MS / 1000} s, abandoned`)), CASE_LIMIT_MS)));
  return Promise.race([run, limit]).finally(() => clearTimeout(timer));
}

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

const failed = (name: string, e: Engine, err: unknown) => console.log(`${name.padEnd(30)} ${labelOf(e).padEnd(40)} FAILED: ${String((err as Error)?.message ?? err).split('\n')[0]}`);

async function open(browser: Browser, url: string, e: Engine, renderers: Renderers): Promise<Session | null> {
  const page = await openPage(browser, url);
  const renderer = rendererOf(e, renderers);
  try {
    const started = await call(page, 'start', e);
    if (e.lib === 'tfjs' && started.threads !== e.threads) {
      // tf.js wasm reports the pool XNNPACK really made; a second row at the same count would only repeat the first.
      console.log(`${labelOf(e)}: SKIPPED, asked for ${e.threads} threads, tf.js reports ${started.threads} (${started.mode})`);
    } else {
      return { e, page, started, renderer, emulated: isEmulated(renderer) };
    }
  } catch (err) {
    failed('(start)', e, err);
    if (GONE.test(String(err))) throw err;
  }
  await page.close().catch(() => {});
  return null;
}

function rowOf(s: Session, name: string, t: PageModule.Timing): BrowserRow {
  const { e, started } = s;
  return {
    case: name, backend: e.lib === 'tfjs' ? `tfjs-${e.backend}` : e.backend, mode: e.lib === 'tfjs' ? started.mode : t.mode, threads: started.threads,
    ms: t.ms, where: 'browser', renderer: s.renderer, ...(s.emulated ? { emulation: 'SwiftShader' as const } : {}), ...(t.executor ? { executor: t.executor } : {}),
    batch: t.input[0], input: t.input, gflops: t.gflops, runs: t.times,
  };
}

/** One case on one session: recorded, or reported as failed; throws when the browser is gone. */
async function runCase(s: Session, name: string, run: () => Promise<PageModule.Timing>): Promise<void> {
  try {
    const t = await run();
    record(rowOf(s, name, t), [t.note, t.fallback ? `FALLBACK: ${t.fallback}` : ''].filter((n) => n).join('; '));
  } catch (err) {
    failed(name, s.e, err);
    if (GONE.test(String(err))) throw err;
    if (OVERTIME.test((err as Error).message)) s.abandoned = true;
  }
}

/**
 * Runs a group of engines that share a renderer, their pages open side by side and the cases
 * interleaved (every engine on one case, then the next case), so that the machine's load, which
 * other work on it changes by the minute, weighs on both sides of a ratio alike.
 */
async function runGroup(browser: Browser, url: string, group: Engine[], renderers: Renderers): Promise<void> {
  const sessions: Session[] = [];
  try {
    for (const e of group) {
      const s = await open(browser, url, e, renderers);
      if (s) sessions.push(s);
    }
    const live = () => sessions.filter((s) => !s.abandoned);
    for (const c of NET_CASES.filter((k) => wanted(k.name))) {
      for (const s of live()) await runCase(s, c.name, () => call(s.page, 'netCase', c.name, planFor(c, isSlow(s.e, s.emulated), quick)));
    }
    // Detection is tsface's pipeline; tf.js has no MTCNN of its own to anchor it.
    if (!existsSync(join(SHARED_DIR, 'images', 'multiface.jpg'))) return;
    for (const c of DETECT_CASES.filter((k) => wanted(k.name))) {
      for (const s of live().filter((k) => k.e.lib === 'tsface')) {
        if (s.emulated && surfaceOf(s.e) !== 'cpu' && !detectEmulated) {
          console.log(`${c.name.padEnd(30)} ${labelOf(s.e).padEnd(40)} SKIPPED: minutes per detection on an emulated GPU (--detect-emulated runs it)`);
          continue;
        }
        await runCase(s, c.name, () => call(s.page, 'detectCase', c.name, quick ? 1 : 3));
      }
    }
  } finally {
    for (const s of sessions) {
      // A case still running in the page would hold `stop` behind it: an abandoned page is just closed.
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
const server = await startServer({ isolated: true });
let chromium = await launchChromium();
try {
  const probe = await openPage(chromium.browser, server.url);
  const renderers = await call(probe, 'renderers');
  await probe.close();
  console.log(`tsface browser benchmark: median of ${quick ? 1 : 3} runs after 1 warm-up${quick ? ' (quick: smaller batches)' : ''}, ${new Date().toISOString()}`);
  console.log(`  ${renderers.userAgent}`);
  console.log(`  crossOriginIsolated ${renderers.crossOriginIsolated}, ${renderers.hardwareConcurrency} logical cores`);
  console.log(`  WebGL2 renderer: ${renderers.webgl2}${isEmulated(renderers.webgl2) ? '  [SwiftShader emulation]' : ''}`);
  console.log(`  WebGPU adapter:  ${renderers.webgpu}${isEmulated(renderers.webgpu) ? '  [SwiftShader emulation]' : ''}\n`);
  for (const group of groupsOf(enginesFor(modes, renderers.crossOriginIsolated))) {
    try {
      await runGroup(chromium.browser, server.url, group, renderers);
    } catch (err) {
      console.log(`  chromium went away (${String((err as Error).message).split('\n')[0]}): starting a fresh one for the next engines`);
      await chromium.close();
      chromium = await launchChromium();
    }
  }
  printRatios(rows);
  if (pageErrors.length) console.log(`\npage errors (${pageErrors.length}):\n  ${[...new Set(pageErrors)].slice(0, 10).join('\n  ')}`);
  console.log(`\ntotal ${((performance.now() - began) / 1000).toFixed(0)} s`);
  if (jsonFile) {
    writeFileSync(jsonFile, `${JSON.stringify(rows, null, 1)}\n`);
    console.log(`wrote ${rows.length} rows to ${jsonFile}`);
  }
} finally {
  await chromium.close();
  await server.close();
}
process.exit(0);
