// Collection benchmark: `scan --embed` throughput (images/s) on two folders at 1 and 2 threads,
// with the 2-thread / 1-thread ratio and the same pipeline in PyTorch at the same thread counts,
// and exact top-k search time over 10^4, 10^5 and 10^6 synthetic unit faces.
//   (a) lfw150: the first --photos photos of ../shared/datasets/lfw-devtrain (150x150, one face
//       each; repeated under new names past its 9,525), copied into a temporary folder;
//   (b) large: the shared celebrity portraits and group photo (1.2-4.1 megapixels, 1-6 faces),
//       repeated to --large photos.
// One thread scans on the calling thread (decoding ahead on a decoding thread); N threads scan N
// photos at once on photo threads (src/collection/photoPool.ts). Each timed pass follows a short
// warm-up; the photo threads' start is timed on its own. A third row per folder times one photo
// at a time with the nets' own threads, as `scan --threads N` ran before photo threads. CPU ms per image (all threads of the
// process) says how much work a photo costs, which a busy machine disturbs less than the clock.
// RSS is printed every 1,000 photos scanned (run --photos 10000 to watch it stay flat).
// The PyTorch rows run tools/bench/collection_torch.py with /usr/bin/python3 (skipped loudly
// when torch is missing, or with --no-torch).
// Prints a line per case, then the rows as JSON in run.ts's shape ({case, backend, mode, threads,
// ms, gflops} plus the case's own figures); `--json FILE` also writes them to FILE.
//   node --import tsx tools/bench/collection.ts [--json FILE] [--quick] [--photos N] [--large N]
//        [--threads 1,2] [--rss-every N] [--no-torch] [--no-nets-threads] [--no-search] [--dim D]
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRandom } from '../../src/collection/cluster.ts';
import { PhotoPool } from '../../src/collection/photoPool.ts';
import { runScan } from '../../src/collection/scan.ts';
import { CollectionIndex } from '../../src/collection/searchIndex.ts';
import { walkImages } from '../../src/collection/walk.ts';
import { CpuBackend } from '../../src/tensor/cpu/backend.ts';

interface Row {
  case: string;
  backend: string;
  mode: string;
  threads: number;
  ms: number;
  gflops: number | null;
  imagesPerSecond?: number;
  cpuMsPerImage?: number;
  startSeconds?: number;
  maxRssMiB?: number;
  ratio?: number;
  images?: number;
  faces?: number;
  bytesPerFace?: number;
}

const args = process.argv.slice(2);
const flag = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const quick = args.includes('--quick');
const jsonFile = flag('--json');
const photos = Number(flag('--photos') ?? (quick ? 40 : 400));
const large = Number(flag('--large') ?? (quick ? 5 : 20));
const threadCounts = (flag('--threads') ?? '1,2').split(',').map(Number);
const withTorch = !args.includes('--no-torch');
// Also time one photo at a time with the nets' own threads (the scan before photo threads).
const compareNets = !args.includes('--no-nets-threads');
const rssEvery = Number(flag('--rss-every') ?? 1000);
// The bundled MobileFaceNet's embeddings are 192-d.
const dim = Number(flag('--dim') ?? 192);
const SHARED = fileURLToPath(new URL('../../../shared/', import.meta.url));
const TORCH_SCRIPT = fileURLToPath(new URL('./collection_torch.py', import.meta.url));
const PYTHON = '/usr/bin/python3';
const rows: Row[] = [];

function record(row: Row, extra: string): void {
  rows.push(row);
  console.error(`${row.case.padEnd(22)} ${`${row.backend}/${row.mode}`.padEnd(26)} threads ${row.threads}  ${row.ms.toFixed(2).padStart(9)} ms  ${extra}`);
}

const mib = (bytes: number) => bytes / (1 << 20);

/** `count` copies from `sources` in turn, under distinct names (the walk visits a file once). */
function folderOf(sources: readonly string[], count: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsface-bench-scan-'));
  for (let i = 0; i < count; i++) copyFileSync(sources[i % sources.length], join(dir, `${String(i).padStart(6, '0')}_${basename(sources[i % sources.length])}`));
  return dir;
}

/**
 * A progress stream that prints RSS each time the scan passes a multiple of --rss-every photos
 * (1,000; the scan's progress redraws a terminal line at most every 100 ms, so the figure is
 * within a few photos of the mark), and keeps the largest RSS seen.
 */
function rssWatch(label: string): { stream: { isTTY: true; columns: number; write: (t: string) => boolean }; maxRss: () => number } {
  let mark = rssEvery;
  let max = 0;
  const stream = {
    isTTY: true as const,
    columns: 80,
    write: (text: string) => {
      const rss = process.memoryUsage.rss();
      max = Math.max(max, rss);
      const done = Number(/(\d+)\/\d+ images/.exec(text)?.[1] ?? 0);
      while (done >= mark) {
        console.error(`  ${label}: ${done} photos scanned, RSS ${mib(rss).toFixed(0)} MiB`);
        mark += rssEvery;
      }
      return true;
    },
  };
  return { stream, maxRss: () => max };
}

interface Timed { imagesPerSecond: number; cpuMsPerImage: number; startSeconds: number; maxRssMiB: number; images: number; faces: number }

/**
 * One timed `scan --embed` of `dir` at `threads` threads, after a warm-up on its first photos:
 * photo threads, or with `netsThreads` every photo here with the backend's threads sharing its
 * nets (what `scan --threads N` did before photo threads, kept for comparison).
 */
async function timeScan(dir: string, threads: number, label: string, netsThreads = false): Promise<Timed> {
  const files = [...walkImages([dir])].map((e) => e.path);
  const out = join(dir, '..', `${basename(dir)}-${threads}.jsonl`);
  const backend = new CpuBackend({ threads: netsThreads ? threads : 1 });
  const t0 = performance.now();
  const pool = threads > 1 && !netsThreads ? await PhotoPool.start(threads, { embed: true }) : null;
  const startSeconds = (performance.now() - t0) / 1000;
  try {
    // Weights, plans and first-touch pages: two photos a thread.
    await runScan({ inputs: files.slice(0, 2 * threads), out, backend, embed: true, progress: null, photoThreads: pool ?? 1 });
    const watch = rssWatch(`${label} ${threads} thread${threads > 1 ? 's' : ''}`);
    const cpu = process.cpuUsage();
    const t = performance.now();
    const s = await runScan({ inputs: [dir], out, backend, embed: true, progress: watch.stream, photoThreads: pool ?? 1 });
    const seconds = (performance.now() - t) / 1000;
    const used = process.cpuUsage(cpu);
    return { imagesPerSecond: s.scanned / seconds, cpuMsPerImage: (used.user + used.system) / 1000 / s.scanned, startSeconds, maxRssMiB: mib(watch.maxRss()), images: s.scanned, faces: s.faces };
  } finally {
    await pool?.dispose();
    await backend.dispose();
    rmSync(out, { force: true });
  }
}

function torchMissing(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import torch, torchvision, PIL, numpy'], { stdio: 'ignore' });
  return r.status === 0 ? null : `torch, torchvision, PIL or numpy missing at ${PYTHON}`;
}

function timeTorch(dir: string, threads: number): { imagesPerSecond: number; images: number; faces: number; torch: string } {
  const r = spawnSync(PYTHON, [TORCH_SCRIPT, dir, '--threads', String(threads), '--json'], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`collection_torch.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

async function scanFolder(name: string, dir: string, what: string): Promise<void> {
  const perSecond = new Map<number, number>();
  for (const threads of threadCounts) {
    const r = await timeScan(dir, threads, name);
    perSecond.set(threads, r.imagesPerSecond);
    record({ case: name, backend: 'cpu', mode: threads > 1 ? 'photo-threads' : 'one-thread', threads, ms: 1000 / r.imagesPerSecond, gflops: null, imagesPerSecond: r.imagesPerSecond, cpuMsPerImage: r.cpuMsPerImage, startSeconds: r.startSeconds, maxRssMiB: r.maxRssMiB, images: r.images, faces: r.faces },
      `${r.imagesPerSecond.toFixed(2)} images/s, ${r.cpuMsPerImage.toFixed(0)} CPU ms/image, ${r.faces} faces in ${r.images} ${what}${threads > 1 ? `, threads started in ${r.startSeconds.toFixed(1)} s` : ''}, max RSS ${r.maxRssMiB.toFixed(0)} MiB`);
  }
  for (const threads of compareNets ? threadCounts.filter((t) => t > 1) : []) {
    const r = await timeScan(dir, threads, `${name} (nets' threads)`, true);
    record({ case: name, backend: 'cpu', mode: 'nets-threads', threads, ms: 1000 / r.imagesPerSecond, gflops: null, imagesPerSecond: r.imagesPerSecond, cpuMsPerImage: r.cpuMsPerImage, maxRssMiB: r.maxRssMiB, images: r.images, faces: r.faces },
      `${r.imagesPerSecond.toFixed(2)} images/s, ${r.cpuMsPerImage.toFixed(0)} CPU ms/image: one photo at a time, its nets on ${threads} threads (for comparison)`);
  }
  const base = perSecond.get(1);
  for (const [threads, ips] of perSecond) {
    if (threads === 1 || base === undefined) continue;
    record({ case: `${name}-ratio`, backend: 'cpu', mode: `${threads} / 1 threads`, threads, ms: 1000 / ips, gflops: null, ratio: ips / base }, `x${(ips / base).toFixed(2)} images/s of 1 thread`);
  }
  if (!withTorch) return;
  const missing = torchMissing();
  if (missing) {
    console.error(`!!! ${missing}: SKIPPING the PyTorch rows of ${name} !!!`);
    return;
  }
  for (const threads of threadCounts) {
    const t = timeTorch(dir, threads);
    const ours = perSecond.get(threads);
    record({ case: name, backend: 'pytorch', mode: `torch ${t.torch} float32`, threads, ms: 1000 / t.imagesPerSecond, gflops: null, imagesPerSecond: t.imagesPerSecond, images: t.images, faces: t.faces },
      `${t.imagesPerSecond.toFixed(2)} images/s, ${t.faces} faces (PIL, torch MTCNN cascade, alignment, MobileFaceNet; torch.set_num_threads(${threads}))${ours ? `: tsface x${(ours / t.imagesPerSecond).toFixed(2)}` : ''}`);
  }
}

async function scanCases(): Promise<void> {
  const lfw = `${SHARED}datasets/lfw-devtrain/images`;
  if (photos <= 0) console.error('scan-lfw150: --photos 0, not run');
  else if (existsSync(lfw)) {
    const sources = readdirSync(lfw).sort().flatMap((person) => readdirSync(join(lfw, person)).sort().map((f) => join(lfw, person, f))).slice(0, photos);
    const dir = folderOf(sources, photos);
    try {
      await scanFolder('scan-lfw150', dir, '150x150 LFW photos');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else console.error('!!! ../shared/datasets/lfw-devtrain is absent: SKIPPING scan-lfw150 !!!');

  const celebs = `${SHARED}images/celebs`;
  const group = `${SHARED}images/multiface.jpg`;
  if (large <= 0) console.error('scan-large: --large 0, not run');
  else if (existsSync(celebs) && existsSync(group)) {
    const sources = [...readdirSync(celebs).sort().map((f) => join(celebs, f)), group].filter((f) => statSync(f).isFile());
    const dir = folderOf(sources, large);
    try {
      await scanFolder('scan-large', dir, 'portraits and group photos (1.2-4.1 MP)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else console.error('!!! ../shared/images/celebs or multiface.jpg is absent: SKIPPING scan-large !!!');
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
await scanCases();
if (!args.includes('--no-search')) searchCase();
process.stdout.write(`${JSON.stringify(rows, null, 1)}\n`);
if (jsonFile) {
  mkdirSync(join(jsonFile, '..'), { recursive: true });
  writeFileSync(jsonFile, `${JSON.stringify(rows, null, 1)}\n`);
}
process.exit(0);
