// Collection benchmark: scan throughput (images/s) on copies of the shared LFW sample at 1 and 2
// backend threads, and exact top-k search time over 10^4, 10^5 and 10^6 synthetic unit faces.
// Prints a line per case, then the rows as JSON in run.ts's shape ({case, backend, mode, threads,
// ms, gflops} plus the case's own figures); `--json FILE` also writes them to FILE.
//   node --import tsx tools/bench/collection.ts [--json FILE] [--quick] [--copies N] [--dim D]
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRandom } from '../../src/collection/cluster.ts';
import { runScan } from '../../src/collection/scan.ts';
import { CollectionIndex } from '../../src/collection/searchIndex.ts';
import { CpuBackend } from '../../src/tensor/cpu/backend.ts';

interface Row {
  case: string;
  backend: string;
  mode: string;
  threads: number;
  ms: number;
  gflops: number | null;
  imagesPerSecond?: number;
  faces?: number;
  bytesPerFace?: number;
}

const args = process.argv.slice(2);
const flag = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const quick = args.includes('--quick');
const jsonFile = flag('--json');
// 100 images by default: 20 scanned in under 2 s, too short a run for a steady figure.
const copies = Number(flag('--copies') ?? (quick ? 4 : 50));
// The bundled MobileFaceNet's embeddings are 192-d.
const dim = Number(flag('--dim') ?? 192);
const SHARED = fileURLToPath(new URL('../../../shared/', import.meta.url));
const rows: Row[] = [];

function record(row: Row, extra: string): void {
  rows.push(row);
  console.error(`${row.case.padEnd(22)} ${`${row.backend}/${row.mode}`.padEnd(26)} threads ${row.threads}  ${row.ms.toFixed(2).padStart(9)} ms  ${extra}`);
}

async function scanCase(): Promise<void> {
  const lfw = `${SHARED}images/lfw-sample`;
  if (!existsSync(lfw)) {
    console.error('!!! ../shared/images/lfw-sample is absent: SKIPPING scan-lfw-sample !!!');
    return;
  }
  // Copies under distinct names: the walk visits a file once, and a scan of 2 images is all start-up.
  const dir = mkdtempSync(join(tmpdir(), 'tsface-bench-scan-'));
  const sources = readdirSync(lfw).filter((f) => f.endsWith('.jpg'));
  for (let c = 0; c < copies; c++) for (const f of sources) copyFileSync(join(lfw, f), join(dir, `${c}_${f}`));
  const images = copies * sources.length;
  try {
    for (const threads of [1, 2]) {
      const backend = new CpuBackend({ threads });
      // One warm-up pass (weights load, plans, page faults), then the timed pass.
      await runScan({ inputs: [dir], out: join(dir, 'warm.jsonl'), backend, embed: true, progress: null });
      const t = performance.now();
      const s = await runScan({ inputs: [dir], out: join(dir, 'faces.jsonl'), backend, embed: true, progress: null });
      const seconds = (performance.now() - t) / 1000;
      await backend.dispose();
      const perSecond = s.scanned / seconds;
      record({ case: 'scan-lfw-sample', backend: 'cpu', mode: 'typescript+wasm-simd', threads, ms: (seconds * 1000) / s.scanned, gflops: null, imagesPerSecond: perSecond },
        `${perSecond.toFixed(2)} images/s (detect + align + embed, ${images} 250x250 images, 1 decoding thread)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function searchCase(): void {
  const random = seededRandom(1);
  const sizes = quick ? [1e4, 1e5] : [1e4, 1e5, 1e6];
  const index = new CollectionIndex('synthetic', dim);
  const empty = index.bytes;
  const v = new Float32Array(dim);
  const unit = () => {
    for (let k = 0; k < dim; k++) v[k] = random() - 0.5;
    return v; // add() normalises
  };
  for (const n of sizes) {
    while (index.size < n) index.add(String(index.size), unit());
    const queries = Array.from({ length: 5 }, () => Float32Array.from(unit()));
    index.search(queries[0], 10); // warm-up
    const times = queries.map((q) => { const t = performance.now(); index.search(q, 10); return performance.now() - t; }).sort((a, b) => a - b);
    const ms = times[Math.floor(times.length / 2)];
    const bytesPerFace = (index.bytes - empty) / n;
    // One multiply and one add per dimension per face.
    const gflops = (2 * n * dim) / (ms * 1e6);
    record({ case: `search-${n.toExponential(0).replace('+', '')}`, backend: 'cpu', mode: index.simd ? 'wasm-simd' : 'typescript', threads: 1, ms, gflops, faces: n, bytesPerFace },
      `top 10 of ${n} ${dim}-d faces, ${gflops.toFixed(2)} GFLOP/s, ${bytesPerFace.toFixed(0)} bytes a face (${dim * 4} of them the embedding)`);
  }
}

console.error(`tsface collection benchmark: ${new Date().toISOString()}, node ${process.version}`);
await scanCase();
searchCase();
process.stdout.write(`${JSON.stringify(rows, null, 1)}\n`);
if (jsonFile) {
  mkdirSync(join(jsonFile, '..'), { recursive: true });
  writeFileSync(jsonFile, `${JSON.stringify(rows, null, 1)}\n`);
}
process.exit(0);
