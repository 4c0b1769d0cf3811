// One bench run (`npm run bench -- --json FILE`) as a Markdown table: a row per case, a column
// per engine and thread count (ms, median), tsface's effective GFLOP/s on one thread beside the
// GEMM alone's, tsface's 2-thread scaling (the default mode's, timed in turns with 1 thread), and
// tsface / anchor at the same thread count (below 1, tsface is faster; tsface's default mode, SIMD
// with Winograd, as users get it). Anchors are marked [native] (machine code: onnxruntime-node,
// PyTorch) or [wasm] (WebAssembly with 128-bit SIMD, as tsface: onnxruntime-web, tf.js wasm).
//   node --import tsx tools/bench/table.ts FILE
import { readFileSync } from 'node:fs';

interface Row { case: string; backend: string; mode: string; threads: number; ms: number; gflops: number | null; scaling?: number; gemmGflops?: number; vsTsface?: number }

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node --import tsx tools/bench/table.ts BENCH.json\n');
  process.exit(2);
}
const rows = JSON.parse(readFileSync(file, 'utf8')) as Row[];

const DEFAULT = 'typescript+wasm-simd+winograd';
const tsface = (mode: string, threads: number) => (r: Row) => r.backend === 'cpu' && r.mode === mode && r.threads === threads;
const anchor = (backend: string, threads: number) => (r: Row) => r.backend === backend && r.threads === threads;

const columns: { title: string; pick: (r: Row) => boolean }[] = [
  { title: 'tsface x1', pick: tsface(DEFAULT, 1) },
  { title: 'tsface x2', pick: tsface(DEFAULT, 2) },
  { title: 'FMA x1', pick: tsface(`${DEFAULT}+fma`, 1) },
  { title: 'FMA x2', pick: tsface(`${DEFAULT}+fma`, 2) },
  { title: 'direct GEMM x1', pick: tsface('typescript+wasm-simd', 1) },
  { title: 'tsface TS x1', pick: tsface('typescript', 1) },
  { title: 'ort-node x1 [native]', pick: anchor('onnxruntime', 1) },
  { title: 'ort-node x2 [native]', pick: anchor('onnxruntime', 2) },
  { title: 'ort-web x1 [wasm]', pick: anchor('onnxruntime-web', 1) },
  { title: 'ort-web x2 [wasm]', pick: anchor('onnxruntime-web', 2) },
  { title: 'tf.js wasm x1 [wasm]', pick: anchor('tfjs-wasm', 1) },
  { title: 'PyTorch x1 [native]', pick: anchor('pytorch', 1) },
  { title: 'PyTorch x2 [native]', pick: anchor('pytorch', 2) },
];
/** tsface / anchor at the anchor's thread counts. */
const versus: { title: string; backend: string; threads: number[] }[] = [
  { title: 'tsface / ort-node x1, x2', backend: 'onnxruntime', threads: [1, 2] },
  { title: 'tsface / ort-web x1, x2', backend: 'onnxruntime-web', threads: [1, 2] },
  { title: 'tsface / tf.js wasm', backend: 'tfjs-wasm', threads: [1] },
  { title: 'tsface / PyTorch x1, x2', backend: 'pytorch', threads: [1, 2] },
];

const fmt = (ms: number | undefined) => (ms === undefined ? '' : ms >= 100 ? ms.toFixed(0) : ms >= 1 ? ms.toFixed(1) : ms.toFixed(3));

const lines = [
  `| case | ${columns.map((c) => c.title).join(' | ')} | GFLOP/s x1 (GEMM alone) | x2 / x1 | ${versus.map((v) => v.title).join(' | ')} |`,
  `|---|${columns.map(() => '---:').join('|')}|---:|---:|${versus.map(() => '---:').join('|')}|`,
];
for (const name of [...new Set(rows.map((r) => r.case))]) {
  const list = rows.filter((r) => r.case === name);
  const cell = (c: (typeof columns)[number]) => fmt(list.find(c.pick)?.ms);
  const mine = (threads: number) => list.find(tsface(DEFAULT, threads))?.ms;
  const vs = (v: (typeof versus)[number]) => v.threads.map((t) => {
    const other = list.find(anchor(v.backend, t));
    const me = mine(t);
    // Per turn where the anchor took turns with tsface (net cases), else median over median.
    const r = other?.vsTsface ?? (other !== undefined && me !== undefined ? me / other.ms : undefined);
    return r !== undefined ? r.toFixed(2) : '';
  }).join(', ').replace(/^, $/, '');
  const one = list.find(tsface(DEFAULT, 1));
  const gflops = one?.gflops != null ? `${one.gflops.toFixed(1)}${one.gemmGflops !== undefined ? ` (${one.gemmGflops.toFixed(1)})` : ''}` : '';
  // The default mode's 2-thread row timed in turns with its 1-thread one, else median over median.
  const paired = list.find(tsface(DEFAULT, 2))?.scaling;
  const [m1, m2] = [mine(1), mine(2)];
  const scaling = paired !== undefined ? paired.toFixed(2) : m1 !== undefined && m2 !== undefined ? (m1 / m2).toFixed(2) : '';
  lines.push(`| ${name} | ${columns.map(cell).join(' | ')} | ${gflops} | ${scaling} | ${versus.map(vs).join(' | ')} |`);
}
console.log(lines.join('\n'));
