// One bench run (`npm run bench -- --json FILE`) as a Markdown table: a row per case, a column
// per engine and thread count (ms, median), then tsface's 2-thread scaling (the default mode's,
// timed in turns with 1 thread) and how tsface's best compares with each anchor at the same
// thread count (anchor ms / tsface ms: above 1, tsface is faster).
//   node --import tsx tools/bench/table.ts FILE
import { readFileSync } from 'node:fs';

interface Row { case: string; backend: string; mode: string; threads: number; ms: number; scaling?: number }

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node --import tsx tools/bench/table.ts BENCH.json\n');
  process.exit(2);
}
const rows = JSON.parse(readFileSync(file, 'utf8')) as Row[];

const columns: { title: string; pick: (r: Row) => boolean }[] = [
  { title: 'tsface x1', pick: (r) => r.backend === 'cpu' && r.mode === 'typescript+wasm-simd+winograd' && r.threads === 1 },
  { title: 'tsface x2', pick: (r) => r.backend === 'cpu' && r.mode === 'typescript+wasm-simd+winograd' && r.threads === 2 },
  { title: 'FMA x1', pick: (r) => r.backend === 'cpu' && r.mode === 'typescript+wasm-simd+winograd+fma' && r.threads === 1 },
  { title: 'FMA x2', pick: (r) => r.backend === 'cpu' && r.mode === 'typescript+wasm-simd+winograd+fma' && r.threads === 2 },
  { title: 'direct GEMM x1', pick: (r) => r.backend === 'cpu' && r.mode === 'typescript+wasm-simd' && r.threads === 1 },
  { title: 'tsface TS x1', pick: (r) => r.backend === 'cpu' && r.mode === 'typescript' && r.threads === 1 },
  { title: 'onnxruntime x1', pick: (r) => r.backend === 'onnxruntime' && r.threads === 1 },
  { title: 'onnxruntime x2', pick: (r) => r.backend === 'onnxruntime' && r.threads === 2 },
  { title: 'tf.js wasm x1', pick: (r) => r.backend === 'tfjs-wasm' },
  { title: 'PyTorch x1', pick: (r) => r.backend === 'pytorch' && r.threads === 1 },
  { title: 'PyTorch x2', pick: (r) => r.backend === 'pytorch' && r.threads === 2 },
];

const fmt = (ms: number | undefined) => (ms === undefined ? '' : ms >= 100 ? ms.toFixed(0) : ms >= 1 ? ms.toFixed(1) : ms.toFixed(3));
const mine = (r: Row) => r.backend === 'cpu' || r.backend === 'gpujs';
const best = (list: Row[], threads: number) => {
  const m = list.filter((r) => mine(r) && r.threads === threads).map((r) => r.ms);
  return m.length ? Math.min(...m) : undefined;
};

const lines = [
  `| case | ${columns.map((c) => c.title).join(' | ')} | x2 / x1 | vs onnxruntime x1, x2 | vs PyTorch x1, x2 |`,
  `|---|${columns.map(() => '---:').join('|')}|---:|---:|---:|`,
];
for (const name of [...new Set(rows.map((r) => r.case))]) {
  const list = rows.filter((r) => r.case === name);
  const cell = (c: (typeof columns)[number]) => fmt(list.find(c.pick)?.ms);
  const [one, two] = [best(list, 1), best(list, 2)];
  const vs = (backend: string) => [1, 2].map((t) => {
    const anchor = list.find((r) => r.backend === backend && r.threads === t)?.ms;
    const me = t === 1 ? one : two;
    return anchor !== undefined && me !== undefined ? (anchor / me).toFixed(2) : '';
  }).join(', ').replace(/^, $/, '');
  // The default mode's 2-thread row timed in turns with its 1-thread one, else best over best.
  const paired = list.find(columns[1].pick)?.scaling;
  const scaling = paired !== undefined ? paired.toFixed(2) : one !== undefined && two !== undefined ? (one / two).toFixed(2) : '';
  lines.push(`| ${name} | ${columns.map(cell).join(' | ')} | ${scaling} | ${vs('onnxruntime')} | ${vs('pytorch')} |`);
}
console.log(lines.join('\n'));
