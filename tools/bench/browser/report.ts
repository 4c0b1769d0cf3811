// Node side: the browser bench's rows, printed as they come, and the ratios that matter, tsface
// against tf.js on the same renderer. Ratios compare time per multiply-add, so a row timed on a
// cut input (gpu.js webasm's, against tf.js wasm on the full one) still compares fairly.
import { NET_CASES } from './cases.ts';

export type PageKind = 'isolated' | 'plain';

export interface BrowserRow {
  case: string;
  /**
   * 'cpu' and 'gpujs' are tsface's, as in `npm run bench`; tf.js rows are 'tfjs-webgl', 'tfjs-webgpu',
   * 'tfjs-wasm'; the anchor libraries' rows are 'face-api' and 'human', their tf.js backend in `mode`.
   */
  backend: string;
  /** The page the row ran in: cross-origin isolated (COOP/COEP, Web Worker threads) or a plain page (one thread). */
  page: PageKind;
  mode: string;
  threads: number;
  ms: number;
  /** 'node': the same CPU kernels in the bench's own Node process (nodeRows.ts), timed in `page`'s turn beside its rows. */
  where: 'browser' | 'node';
  /** The GPU API's own renderer string (WebGL2 unmasked renderer, WebGPU adapter info), or 'cpu'. */
  renderer: string;
  /** Set when the renderer is a CPU emulation of a GPU: the time measures the emulation. */
  emulation?: 'SwiftShader';
  executor?: string;
  /** Items per forward actually timed; below the case name's batch on slow engines (see cases.ts). */
  batch: number;
  /** The NCHW input timed (detection: [1]); slow engines get a cut one (fewer items, a smaller P-Net image). */
  input: number[];
  gflops: number | null;
  /** Every timed run, the median of which is `ms`. */
  runs: number[];
  /** faces-* rows: the boxes found ([x1, y1, x2, y2] in the picture's pixels) and how many got an embedding. */
  boxes?: number[][];
  embeddings?: number;
  /** cold-* rows: the phases of a fresh page's first detection (cold.ts); `ms` is their sum up to the first detection's end. */
  cold?: object;
}

const perItem = (r: BrowserRow) => r.ms / r.batch;
/** Time per unit of work: per MAC where the rows count them (inputs may differ in size), else per item. */
const cost = (r: BrowserRow) => (r.gflops ? 1 / r.gflops : perItem(r));

export function printRow(r: BrowserRow, note = ''): void {
  const who = `${r.backend}/${r.mode}${r.executor ? ` ${r.executor}` : ''}`;
  const gf = r.gflops === null ? '' : `${r.gflops.toFixed(2)} GFLOP/s`;
  const full = NET_CASES.find((c) => c.name === r.case)?.input;
  const cut = full && full.join() !== r.input.join() ? ` (${r.input[0]}x${r.input.slice(2).join('x')})` : '';
  const emu = r.emulation ? ' [SwiftShader emulation]' : '';
  const times = Number.isNaN(r.ms) ? `${'untimed'.padStart(12)}  ${''.padStart(16)}` : `${r.ms.toFixed(1).padStart(9)} ms  ${perItem(r).toFixed(2).padStart(8)} ms/item`;
  console.log(`${(r.where === 'node' ? 'node' : r.page).padEnd(8)} ${(r.case + cut).padEnd(30)} ${who.padEnd(40)} x${r.threads}  ${times}  ${gf.padStart(15)}${emu}  ${note}`);
}

/** tsface's row against tf.js's: tsface's time per unit of work / tf.js's (at or below 1: tsface is no slower). */
function ratio(mine: BrowserRow | undefined, theirs: BrowserRow | undefined): string | null {
  if (!mine || !theirs) return null;
  const r = cost(mine) / cost(theirs);
  const shape = (x: BrowserRow) => x.input.join('x');
  const inputs = shape(mine) === shape(theirs) ? '' : `, inputs ${shape(mine)} / ${shape(theirs)}`;
  return `${r.toFixed(2)} (${mine.ms.toFixed(1)} vs ${theirs.ms.toFixed(1)} ms${inputs})`;
}

export function printRatios(all: BrowserRow[]): void {
  const node = all.filter((r) => r.where === 'node');
  const inPage = all.filter((r) => r.where === 'browser');
  for (const page of [...new Set(inPage.map((r) => r.page))]) {
    printPageRatios(page, inPage.filter((r) => r.page === page && !r.case.startsWith('faces-') && !r.case.startsWith('cold-')));
    printNodeRatios(page, inPage.filter((r) => r.page === page && r.backend === 'cpu'), node.filter((r) => r.page === page));
  }
  const emulated = [...new Set(all.filter((r) => r.emulation).map((r) => r.renderer))];
  if (emulated.length) console.log(`\nGL/WebGPU rows ran on a CPU emulation of a GPU (${emulated.join('; ')}): their times measure SwiftShader, only their ratios compare engines.`);
}

/**
 * The page's CPU rows against the same kernels in Node (nodeRows.ts): page / Node per thread
 * count (at or below 1.20 meets the browser issue's bar), and what a second thread buys on each side.
 */
function printNodeRatios(page: PageKind, cpu: BrowserRow[], node: BrowserRow[]): void {
  const cases = [...new Set(cpu.map((r) => r.case))].filter((c) => node.some((r) => r.case === c));
  if (!cases.length) return;
  console.log(`\n${page} page: tsface's CPU backend in the page / the same kernels in Node on this machine (time per unit of work; the bar is 1.20), and 2 threads / 1 thread on each side:`);
  for (const name of cases) {
    const at = (rows: BrowserRow[], threads: number) => rows.find((r) => r.case === name && r.threads === threads);
    const lines: string[] = [];
    for (const threads of [1, 2]) {
      const text = ratio(at(cpu, threads), at(node, threads));
      if (text) lines.push(`page / Node x${threads} ${text}`);
    }
    const second = (rows: BrowserRow[]) => {
      const one = at(rows, 1), two = at(rows, 2);
      return one && two ? (cost(two) / cost(one)).toFixed(2) : null;
    };
    const [p, n] = [second(cpu), second(node)];
    if (p && n) lines.push(`x2 / x1: page ${p}, Node ${n}`);
    if (lines.length) console.log(`  ${name.padEnd(20)} ${lines.join('\n  '.padEnd(24))}`);
  }
}

function printPageRatios(page: PageKind, rows: BrowserRow[]): void {
  if (!rows.length) return;
  console.log(`\n${page} page: ratios tsface / tf.js, time per unit of work on the same renderer (at or below 1.00: tsface no slower):`);
  const pairs: [string, (r: BrowserRow) => boolean, (r: BrowserRow) => boolean][] = [
    ['gpujs webgl2 / tfjs webgl', (r) => r.backend === 'gpujs' && r.mode.startsWith('webgl2'), (r) => r.backend === 'tfjs-webgl'],
    ['gpujs webgpu / tfjs webgpu', (r) => r.backend === 'gpujs' && r.mode.startsWith('webgpu'), (r) => r.backend === 'tfjs-webgpu'],
    ['cpu x1 / tfjs wasm x1', (r) => r.backend === 'cpu' && r.threads === 1, (r) => r.backend === 'tfjs-wasm' && r.threads === 1],
    ['cpu x2 / tfjs wasm x2', (r) => r.backend === 'cpu' && r.threads === 2, (r) => r.backend === 'tfjs-wasm' && r.threads === 2],
    ['cpu x2 / tfjs wasm x1', (r) => r.backend === 'cpu' && r.threads === 2, (r) => r.backend === 'tfjs-wasm' && r.threads === 1 && !rows.some((o) => o.case === r.case && o.backend === 'tfjs-wasm' && o.threads === 2)],
    ['gpujs webasm / tfjs wasm x1', (r) => r.backend === 'gpujs' && r.mode.startsWith('webasm'), (r) => r.backend === 'tfjs-wasm' && r.threads === 1],
  ];
  for (const name of [...new Set(rows.map((r) => r.case))]) {
    const of = rows.filter((r) => r.case === name);
    const lines = pairs.flatMap(([label, mine, theirs]) => {
      const text = ratio(of.find(mine), of.find(theirs));
      return text ? [`${label} ${text}`] : [];
    });
    if (lines.length) console.log(`  ${name.padEnd(20)} ${lines.join('\n  '.padEnd(24))}`);
  }
}
