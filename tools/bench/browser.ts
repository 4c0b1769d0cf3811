// tsface's benchmark in a real browser: the cases of `npm run bench` in headless chromium on the
// CPU backend (1 thread, 2 Web Workers) and gpu.js's webgl2/webgpu/webasm modes, with tf.js's
// webgl, webgpu and wasm backends running the same nets in the same browser as anchors.
//   npm run bench:browser [-- --json FILE] [--quick] [--only PREFIX] [--modes cpu,webgl2,webgpu,webasm] [--detect-emulated]
// Each engine gets a fresh page (tf.js keeps one backend per page, and GL contexts go with it), and
// a fresh chromium when the last one crashed.
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
import { BENCH_MODES, enginesFor, isSlow, labelOf, surfaceOf, type BenchMode, type Engine } from './browser/engines.ts';
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
  const limit = new Promise<never>((_, fail) => (timer = setTimeout(() => fail(new Error(`over ${CASE_LIMIT_MS / 1000} s`)), CASE_LIMIT_MS)));
  return Promise.race([run, limit]).finally(() => clearTimeout(timer));
}

function rendererOf(e: Engine, r: Renderers): string {
  const surface = surfaceOf(e);
  return surface === 'cpu' ? 'cpu' : r[surface];
}

/** Errors after which the page, or the whole browser, is gone (SwiftShader's GPU process can crash). */
const GONE = /Target closed|detached Frame|Connection closed|Session closed|Protocol error/;

/** Runs every wanted case on one engine in a fresh page; false when the browser died under it. */
async function runEngine(browser: Browser, url: string, e: Engine, renderers: Renderers): Promise<boolean> {
  const renderer = rendererOf(e, renderers);
  const emulated = isEmulated(renderer);
  const slow = isSlow(e, emulated);
  const page = await openPage(browser, url);
  const failed = (name: string, err: unknown) => console.log(`${name.padEnd(30)} ${labelOf(e).padEnd(40)} FAILED: ${String((err as Error)?.message ?? err).split('\n')[0]}`);
  try {
    let started: PageModule.Started;
    try {
      started = await call(page, 'start', e);
    } catch (err) {
      failed('(start)', err);
      return !GONE.test(String(err));
    }
    if (e.lib === 'tfjs' && started.threads !== e.threads) {
      // tf.js wasm reports the pool XNNPACK really made; a second row at the same count would only repeat the first.
      console.log(`${labelOf(e)}: SKIPPED, asked for ${e.threads} threads, tf.js reports ${started.threads} (${started.mode})`);
      return true;
    }
    const row = (name: string, t: PageModule.Timing, full: number[]): BrowserRow => ({
      case: name, backend: e.lib === 'tfjs' ? `tfjs-${e.backend}` : e.backend, mode: e.lib === 'tfjs' ? started.mode : t.mode, threads: started.threads,
      ms: t.ms, where: 'browser', renderer, ...(emulated ? { emulation: 'SwiftShader' as const } : {}), ...(t.executor ? { executor: t.executor } : {}),
      batch: t.input[0], ...(t.input.join() !== full.join() ? { input: t.input } : {}), gflops: t.gflops, runs: t.times,
    });
    for (const c of NET_CASES.filter((k) => wanted(k.name))) {
      const plan = planFor(c, slow, quick);
      try {
        const t = await call(page, 'netCase', c.name, plan);
        record(row(c.name, t, c.input), t.fallback ? `FALLBACK: ${t.fallback}` : '');
      } catch (err) {
        failed(c.name, err);
        if (GONE.test(String(err)) || /^over \d+ s$/.test((err as Error).message)) return !GONE.test(String(err));
      }
    }
    // Detection is tsface's pipeline; tf.js has no MTCNN of its own to anchor it.
    if (e.lib !== 'tsface' || !existsSync(join(SHARED_DIR, 'images', 'multiface.jpg'))) return true;
    for (const c of DETECT_CASES.filter((k) => wanted(k.name))) {
      if (emulated && surfaceOf(e) !== 'cpu' && !detectEmulated) {
        console.log(`${c.name.padEnd(30)} ${labelOf(e).padEnd(40)} SKIPPED: minutes per detection on an emulated GPU (--detect-emulated runs it)`);
        continue;
      }
      try {
        const t = await call(page, 'detectCase', c.name, quick ? 1 : 3);
        record(row(c.name, t, [1]), [t.note, t.fallback ? `FALLBACK: ${t.fallback}` : ''].filter((n) => n).join('; '));
      } catch (err) {
        failed(c.name, err);
        if (GONE.test(String(err))) return false;
      }
    }
    return true;
  } finally {
    await call(page, 'stop').catch(() => {});
    await page.close().catch(() => {});
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
  for (const e of enginesFor(modes, renderers.crossOriginIsolated)) {
    if (await runEngine(chromium.browser, server.url, e, renderers)) continue;
    console.log(`  chromium went away under ${labelOf(e)}: starting a fresh one for the next engine`);
    await chromium.close();
    chromium = await launchChromium();
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
