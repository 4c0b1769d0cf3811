// tsface benchmark: prints a table and the ratios to the anchors; `--json FILE` also writes the
// rows as [{case, backend, mode, threads, ms, gflops, engine, gemmGflops}]. Speed is compared
// within one run. The net cases run every engine on the same input bytes, taken from real photos
// by tsface's own pipeline (realInputs.ts); anchors: tf.js, onnxruntime-node (native code) and
// onnxruntime-web (WebAssembly, 1 and 2 threads, each in its own worker thread).
//   npm run bench [-- --json FILE] [--quick] [--no-anchors] [--no-typescript] [--gpujs-modes webasm,webgpu,headlessgl|none] [--gpujs-per-op] [--only PREFIX[,PREFIX...]] [--train-step]
// gpu.js rows run whole nets as fused pipelines (`executor` names gpu.js's executor);
// --gpujs-per-op adds the same modes op by op, to measure what the fusion buys.
// The train-step-* rows (tools/bench/trainStep.ts, minutes) run only when --only picks them or with --train-step.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Nn4Small2 } from '../../src/nets/facenet.ts';
import type { Net } from '../../src/nets/net.ts';
import { loadMobileFaceNet, loadMtcnn, nn4FromTensors } from '../../src/nets/weights.ts';
import { convertOpenFaceCsv } from '../../src/convert/openface.ts';
import { toRgbImage, type RgbImage } from '../../src/image/decode.ts';
import { FaceDetector } from '../../src/pipeline/mtcnn.ts';
import type { Backend } from '../../src/tensor/backend.ts';
import { CpuBackend } from '../../src/tensor/cpu/backend.ts';
import { gemmKernel } from '../../src/tensor/cpu/conv2d.ts';
import { gemmArena, simdGemmSupported } from '../../src/tensor/cpu/simdGemm.ts';
import { simdMaxPool2d } from '../../src/tensor/cpu/simdPool.ts';
import { ThreadPool } from '../../src/tensor/cpu/threadPool.ts';
import { windowGeometry } from '../../src/tensor/geometry.ts';
import { GpujsBackend, gpujsAvailability, type GpujsMode } from '../../src/tensor/gpujs/backend.ts';
import { random } from './random.ts';
import { simdPeakRun } from './simdPeak.ts';
import { kernelMultiplyAdds } from './ceiling.ts';
import { alignedFaces, cascadeCrops, disposeRealInputs, EMBEDDING_SPECS, pnetLevel, type RealInput } from './realInputs.ts';
import { closeOrtWeb, ortWebRunner } from './ortWebAnchor.ts';
import type { Tensor } from '../../src/tensor/tensor.ts';
import { backwardConvCases } from './backwardCases.ts';
import { trainStepCases } from './trainStep.ts';
import { interleaved, median, WARMUP, WARMUP_MS } from './timing.ts';
import { onnxPath, onnxRunner, tfjsAnchor, tfjsRunner, type AnchorRunner } from './anchors.ts';
import { decodeRows } from './decode.ts';
import { pytorchAnchor, upscaledMultiface } from './pytorchAnchor.ts';

interface Row {
  case: string;
  backend: string;
  mode: string;
  threads: number;
  ms: number;
  gflops: number | null;
  /** gpu.js rows: the pipeline executor that ran whole nets ('fused-sync', 'fused-threaded', 'generic'), or 'per-op'. */
  executor?: string;
  /**
   * 2-thread rows: the 1-thread time of the same mode over this one, per turn of runs taken in
   * turns with it (interleaved()), the median over turns: the scaling, held against the drift of
   * a shared machine.
   */
  scaling?: number;
  /** What runs: tsface and tf.js wasm and onnxruntime-web are WebAssembly, onnxruntime-node and PyTorch native code. */
  engine?: 'native' | 'webassembly' | 'javascript';
  /** Net rows: the GFLOP/s of the generated GEMM alone on one thread (gemm-only case) in this run. */
  gemmGflops?: number;
  /** Anchor rows of net cases: tsface's default mode at the same thread count over this anchor, per turn (median). */
  vsTsface?: number;
}

const args = process.argv.slice(2);
const flag = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const jsonFile = flag('--json');
const quick = args.includes('--quick');
const anchors = !args.includes('--no-anchors');
/** Leaves out the plain TypeScript rows (the reference path: minutes on the batched nets). */
const withTypescript = !args.includes('--no-typescript');
const gpujsModes = (flag('--gpujs-modes') ?? 'webasm').split(',').filter((m) => m && m !== 'none') as Exclude<GpujsMode, 'auto'>[];
const gpujsPerOp = args.includes('--gpujs-per-op');
/** Runs only the cases whose names start with this prefix (or one of these, comma-separated). */
const only = flag('--only');
const wanted = (name: string) => !only || only.split(',').some((prefix) => name.startsWith(prefix));
const SHARED = fileURLToPath(new URL('../../../shared/', import.meta.url));
const rows: Row[] = [];
/** tsface's default CPU mode (SIMD with Winograd), the one every anchor is held to. */
const DEFAULT_MODE = 'typescript+wasm-simd+winograd';



function record(row: Row, extra = ''): void {
  rows.push(row);
  const gf = row.gflops === null ? '' : `${row.gflops.toFixed(2)} GFLOP/s`;
  // Anchors say what they run as; tsface's rows are WebAssembly (cpu) or gpu.js.
  const anchor = row.backend !== 'cpu' && row.backend !== 'gpujs';
  const tag = anchor && row.engine ? ` [${row.engine === 'webassembly' ? 'wasm' : row.engine}]` : '';
  console.log(`${row.case.padEnd(26)} ${`${row.backend}/${row.mode}${row.executor ? ` ${row.executor}` : ''}${tag}`.padEnd(36)} threads ${row.threads}  ${row.ms.toFixed(2).padStart(9)} ms  ${gf.padStart(16)}  ${extra}`);
}

/** The tsface backends of this run: CPU with 1 and 2 threads, gpu.js modes sync and threaded. */
const availability = await gpujsAvailability();
interface TsfaceBackend { make: () => Backend; backend: string; mode: string; threads: number; variant?: string }

/** tsfaceBackends() by backend and mode: each group's 1- and 2-thread variants, timed in turns. */
function modeGroups(): TsfaceBackend[][] {
  const groups = new Map<string, TsfaceBackend[]>();
  for (const b of tsfaceBackends()) {
    const key = `${b.backend}/${b.mode}/${b.variant ?? ''}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(b);
  }
  return [...groups.values()];
}

function tsfaceBackends(): TsfaceBackend[] {
  const list: TsfaceBackend[] = [];
  // The default (SIMD with Winograd), the same with fused multiply-adds (TSFACE_FMA=1, where the
  // engine has relaxed SIMD), the direct SIMD GEMM Winograd replaced (TSFACE_WINOGRAD=0), plain TypeScript.
  const modes = [[true, true, false, 'typescript+wasm-simd+winograd'], [true, true, true, 'typescript+wasm-simd+winograd+fma'],
    [true, false, false, 'typescript+wasm-simd'], [false, false, false, 'typescript']] as const;
  for (const [simd, winograd, fma, mode] of modes) {
    if (!simd && !withTypescript) continue;
    if (fma && !new CpuBackend({ threads: 1, fma }).fma) {
      console.log(`SKIPPED cpu/${mode}: this engine has no WebAssembly relaxed SIMD`);
      continue;
    }
    for (const threads of [1, 2]) list.push({ make: () => new CpuBackend({ threads, simd, winograd, fma }), backend: 'cpu', mode, threads });
  }
  for (const mode of gpujsModes) {
    if (availability[mode] !== true) {
      console.log(`SKIPPED gpujs/${mode}: ${availability[mode]}`);
      continue;
    }
    for (const fuse of gpujsPerOp ? [true, false] : [true]) {
      const variant = fuse ? 'fused' : 'per-op';
      list.push({ make: () => new GpujsBackend({ mode, async: false, fuse }), backend: 'gpujs', mode, threads: 1, variant });
      list.push({ make: () => new GpujsBackend({ mode, async: true, fuse }), backend: 'gpujs', mode, threads: 2, variant });
    }
  }
  return list;
}

function executorOf(backend: Backend): { executor?: string } {
  return backend instanceof GpujsBackend ? { executor: backend.describe().executor ?? 'per-op' } : {};
}

const GEMM = { K: 144, M: 32, N: 108 * 192, chunk: 84 };

/**
 * The wasm-simd GEMM alone on gemm-only-k144-m32-n20736's work, repeated to about `flops` (a net
 * pass's), as one run of a net case's turns: timed in turns with the nets, its GFLOP/s is the
 * yardstick of their effective GFLOP/s under the same load. As long as a pass, so that on a busy
 * machine it waits for the CPU as a pass does (a 4 ms run can wait several times its length).
 * Null where this engine has no WebAssembly SIMD.
 */
function gemmAloneRun(flops: number): { run: () => Promise<void>; flops: number } | null {
  if (!simdGemmSupported()) return null;
  const { K, M, N, chunk } = GEMM;
  const repeats = Math.max(1, Math.round(flops / (2 * M * K * N)));
  const weights = random([M * K], 4).data;
  const panels = random([chunk * K], 5).data;
  return {
    flops: repeats * 2 * M * K * N,
    run: async () => {
      // The arena's memory is the conv kernels' too (and may have grown since the last run):
      // fresh views, and its operands put back, before each run.
      const arena = gemmArena(M, K, chunk * K, M * chunk);
      arena.weights.set(weights);
      arena.panels.set(panels);
      for (let r = 0; r < repeats; r++) {
        for (let j0 = 0; j0 < N; j0 += chunk) arena.run(0, K, M / 4, Math.ceil(Math.min(chunk, N - j0) / 4), chunk, false);
      }
    },
  };
}

/**
 * The CPU backend's generated GEMM alone on the calibration case's sizes (K = 16*3*3, 32 rows,
 * 108*192 pixels in chunks of 84 already unrolled): what the conv costs without im2col and its
 * wrapping, i.e. the ceiling of the current micro-kernel.
 */
async function gemmCase(runs: number): Promise<void> {
  const name = 'gemm-only-k144-m32-n20736';
  if (!wanted(name)) return;
  const { K, M, N, chunk } = GEMM;
  const A = random([M * K], 4).data;
  const B = random([chunk * K], 5).data;
  const C = new Float32Array(M * N);
  const g = gemmKernel(K, 0);
  const ms = await median(async () => {
    for (let j0 = 0; j0 < N; j0 += chunk) g(A, 0, B, M, Math.min(chunk, N - j0), C, j0, N, null, null, 0);
  }, runs);
  record({ case: name, backend: 'cpu', mode: 'typescript', threads: 1, ms, gflops: (2 * M * K * N) / ms / 1e6 });
  if (!simdGemmSupported()) return;
  // The same work on the WebAssembly SIMD kernel, its output tile left in its memory.
  const arena = gemmArena(M, K, chunk * K, M * chunk);
  arena.weights.set(A);
  arena.panels.set(B);
  const simdMs = await median(async () => {
    for (let j0 = 0; j0 < N; j0 += chunk) arena.run(0, K, M / 4, Math.ceil(Math.min(chunk, N - j0) / 4), chunk, false);
  }, runs);
  const simdGflops = (2 * M * K * N) / simdMs / 1e6;
  record({ case: name, backend: 'cpu', mode: 'wasm-simd', threads: 1, ms: simdMs, gflops: simdGflops });
  // The ceiling beside it: multiplies and adds with nothing to load (simdPeak.ts), about the same work.
  const peak = simdPeakRun(Math.round((2 * M * K * N) / 96));
  if (peak) {
    const peakMs = await median(async () => peak.run(), runs);
    const peakGflops = peak.flops / peakMs / 1e6;
    record({ case: 'simd-peak-mul-add', backend: 'cpu', mode: 'wasm-simd', threads: 1, ms: peakMs, gflops: peakGflops },
      `f32x4 multiply then add, every operand in a register: the GEMM alone above runs at ${((simdGflops / peakGflops) * 100).toFixed(0)}% of it`);
  }
  // The same GEMM with relaxed SIMD's multiply-add (behind a flag in Node 20, set before its
  // module is compiled): what fused multiply-adds would buy on this CPU.
  setFlagsFromString('--experimental-wasm-relaxed-simd');
  if (!simdGemmSupported(true)) {
    console.log(`${name.padEnd(26)} wasm-relaxed-simd skipped: this engine has no relaxed SIMD`);
    return;
  }
  const fused = gemmArena(M, K, chunk * K, M * chunk, 0, true);
  fused.weights.set(A);
  fused.panels.set(B);
  const fusedMs = await median(async () => {
    for (let j0 = 0; j0 < N; j0 += chunk) fused.run(0, K, M / 4, Math.ceil(Math.min(chunk, N - j0) / 4), chunk, false);
  }, runs);
  record({ case: name, backend: 'cpu', mode: 'wasm-relaxed-simd', threads: 1, ms: fusedMs, gflops: (2 * M * K * N) / fusedMs / 1e6 },
    fusedMultiplyAdd() ? 'relaxed_madd fuses on this CPU' : 'relaxed_madd runs as multiply then add on this CPU');
}

/** Whether relaxed_madd rounds once: (1 + 2^-12)^2 - (1 + 2^-11) is 2^-24 fused, 0 or 2^-23 otherwise. */
function fusedMultiplyAdd(): boolean {
  const probe = gemmArena(4, 2, 8, 16, 0, true);
  probe.weights.fill(0);
  probe.bias.fill(0);
  probe.weights[0] = -(1 + 2 ** -11);
  probe.weights[4] = 1 + 2 ** -12;
  for (let lane = 0; lane < 4; lane++) {
    probe.panels[lane] = 1;
    probe.panels[4 + lane] = 1 + 2 ** -12;
  }
  probe.run(0, 2, 1, 1, 4, false);
  return probe.tile[0] === 2 ** -24;
}

/**
 * What handing an op to the kernel thread costs: a pooling of two 2x2 planes shared between the
 * calling thread and one worker, so the time is the message, the wake-up and the reply.
 */
async function dispatchCase(runs: number): Promise<void> {
  const name = 'pool-dispatch-2-threads';
  if (!wanted(name)) return;
  const pool = new ThreadPool(2);
  const window = windowGeometry('maxPool2d', [1, 2, 4, 4], [2, 2], 2, 0, false);
  const x = new Float32Array(new SharedArrayBuffer(4 * 32));
  const out = new Float32Array(new SharedArrayBuffer(4 * 8));
  const calls = 200;
  const ms = await median(async () => {
    for (let i = 0; i < calls; i++) await pool.run({ kind: 'maxPool', window, x, out }, 2, (from, to) => simdMaxPool2d(window, x, out, from, to));
  }, runs);
  record({ case: name, backend: 'cpu', mode: 'typescript+wasm-simd', threads: 2, ms: ms / calls, gflops: null }, 'per op handed to a worker (message, wake-up, reply)');
  await pool.dispose();
}

async function convCase(name: string, inShape: number[], outC: number, k: number, pad: number, runs: number): Promise<void> {
  if (!wanted(name)) return;
  const x = random(inShape, 1);
  const w = random([outC, inShape[1], k, k], 2);
  const b = random([outC], 3);
  const outH = inShape[2] + 2 * pad - k + 1;
  const outW = inShape[3] + 2 * pad - k + 1;
  const flops = 2 * inShape[0] * outC * outH * outW * inShape[1] * k * k;
  for (const [simd, winograd] of [[true, true], [true, false], [false, false]]) {
    if (!simd && !withTypescript) continue;
    for (const threads of [1, 2]) {
      const backend = new CpuBackend({ threads, simd, winograd });
      // The output goes back to the backend's pool, as in a forward pass: a fresh buffer per run
      // would time page faults, not the kernel.
      const ms = await median(async () => backend.release(await backend.conv2d(x, w, b, { padding: pad })), runs);
      record({ case: name, backend: 'cpu', mode: backend.describe().mode, threads, ms, gflops: flops / ms / 1e6 }, `(${(flops / 1e6).toFixed(1)} MFLOP)`);
      await backend.dispose();
    }
  }
}

/**
 * nn4.small2 with the weights export_onnx.py gives the onnxruntime anchors: OpenFace's CSV dump
 * from ../shared with the same seeded stand-ins for its missing tensors (seed 1000), batch norms
 * folded as tsface runs the net; so every engine computes the same activations (ReLU's zeros
 * included) from the same faces. Seeded weights when ../shared is absent, said loudly.
 */
function nn4Weights(): Net {
  const csv = `${SHARED}models/openface-nn4.small2.v1/csv`;
  if (existsSync(csv)) {
    const { tensors, metadata } = convertOpenFaceCsv(csv, { standInSeed: 1000 });
    return nn4FromTensors(tensors, metadata, 'openface csv (../shared) with stand-ins', { allowStandIns: true });
  }
  console.warn('!!! ../shared/models/openface-nn4.small2.v1 is absent: nn4small2 cases run seeded weights, and export_onnx.py writes no nn4small2 anchor !!!');
  const net = Nn4Small2({ batchNorm: false });
  return net.load(new Map(net.expectedTensors().map((e, k) => [e.name, random([...e.shape], 100 + k)])), 'seeded');
}

/**
 * A whole net on every tsface backend and on the anchors, all on the same input bytes (`input`,
 * from real photos). Each tsface mode's 1- and 2-thread backends take turns; the anchors and the
 * GEMM alone take theirs with the default mode's (SIMD with Winograd), so each anchor's tsface /
 * anchor ratio is per turn, held against the drift of a shared machine. Every row prints its
 * effective GFLOP/s (the net's multiply-adds counted from its layers) and what share it is of
 * the GEMM alone's on as many threads (the default mode's rows and the anchors per turn, the
 * other modes against its median).
 */
async function netCase(name: string, net: Net, makeInput: () => Promise<RealInput>, runs: number, onnx: string | null): Promise<void> {
  if (!wanted(name)) return;
  const { x, source } = await makeInput();
  const input = x.shape;
  console.log(`${name.padEnd(26)} input: ${source}`);
  const macs = net.describe(input.slice(1)).reduce((s, r) => s + r.macs, 0) * input[0];
  const gflops = (ms: number) => (2 * macs) / ms / 1e6;
  const perItem = (ms: number) => `${(ms / input[0]).toFixed(2)} ms per item`;
  const gemm = gemmAloneRun(2 * macs);
  // WebAssembly SIMD's ceiling, timed in turns: the kernels' multiply-adds at its rate (ceiling.ts).
  const kernelMacs = anchors && onnx ? await kernelMultiplyAdds(net, x) : 0;
  const peak = kernelMacs > 0 ? simdPeakRun(Math.max(1, Math.round((2 * kernelMacs) / 96))) : null;
  /** The GEMM alone's GFLOP/s in this case's turns, once the default mode has run. */
  let gemmGflops: number | null = null;
  const share = (fraction: number, threads: number) => `, ${(fraction * 100).toFixed(0)}% of the GEMM alone${threads > 1 ? ` x${threads}` : ''} (${gemmGflops!.toFixed(1)} GFLOP/s a thread)`;
  const groups = modeGroups();
  // The default mode first: it times the GEMM alone the other modes are held to.
  groups.sort((a, b) => Number(b[0].backend === 'cpu' && b[0].mode === DEFAULT_MODE) - Number(a[0].backend === 'cpu' && a[0].mode === DEFAULT_MODE));
  for (const group of groups) {
    const backends = group.map((b) => b.make());
    const inTurns = group[0].backend === 'cpu' && group[0].mode === DEFAULT_MODE;
    const runners = inTurns && anchors ? await anchorRunners(name, net, x, onnx) : [];
    // Outputs go back to the backend as a pipeline's would (release is a no-op where unsupported).
    const mine = backends.map((backend) => async () => {
      const out = await net.forward(backend, x);
      for (const t of Object.values(out)) backend.release?.(t);
    });
    const withGemm = inTurns && gemm !== null;
    const withPeak = inTurns && peak !== null && runners.length > 0;
    const fns = [...mine, ...runners.map((r) => r.run), ...(withGemm ? [gemm.run] : []), ...(withPeak ? [async () => peak.run()] : [])];
    const { ms, ratioToFirst, ratio } = await interleaved(fns, runs, WARMUP, quick ? 0 : WARMUP_MS);
    const g = fns.length - 1 - (withPeak ? 1 : 0);
    if (withGemm) gemmGflops = gemm.flops / ms[g] / 1e6;
    // Share of the GEMM alone on `threads` threads: per turn where it took turns, else over its median.
    const yardstick = (k: number, threads: number) => (gemmGflops === null ? ''
      : share(withGemm ? ((2 * macs) / gemm.flops) * ratio(g, k) / threads : gflops(ms[k]) / (gemmGflops * threads), threads));
    const common = { case: name, ...(gemmGflops === null ? {} : { gemmGflops }) };
    group.forEach((b, k) => {
      const report = backends[k].describe();
      record({ ...common, backend: b.backend, mode: report.mode, threads: b.threads, ms: ms[k], gflops: gflops(ms[k]), engine: 'webassembly', ...executorOf(backends[k]), ...(k > 0 ? { scaling: ratioToFirst[k] } : {}) },
        `${perItem(ms[k])}${yardstick(k, b.threads)}${k > 0 ? `, x${ratioToFirst[k].toFixed(2)} in turns with 1 thread` : ''}${report.fallback ? `, FALLBACK: ${report.fallback}` : ''}`);
    });
    runners.forEach((r, j) => {
      const k = group.length + j;
      // tsface's backend at the anchor's thread count, if this group has one.
      const me = group.findIndex((b) => b.threads === r.row.threads);
      const vs = me >= 0 ? ratio(me, k) : undefined;
      record({ ...common, ...r.row, ms: ms[k], gflops: gflops(ms[k]), ...(vs !== undefined ? { vsTsface: vs } : {}) },
        `${perItem(ms[k])}${yardstick(k, r.row.threads)}${vs !== undefined ? `; tsface / this x${vs.toFixed(2)} in turns` : ''}`);
    });
    if (withPeak) {
      // The ceiling's time for this net: the peak run scaled from its FLOPs to the kernels', per turn.
      const p = fns.length - 1;
      const scale = (2 * kernelMacs) / peak.flops;
      const peakGflops = peak.flops / ms[p] / 1e6;
      const against = runners.map((r, j) => ({ r, k: group.length + j })).filter(({ r }) => r.row.backend === 'onnxruntime' && r.row.threads === 1)
        .map(({ k }) => `, onnxruntime-node [native] at 1 thread x${(ratio(p, k) * scale).toFixed(2)}${group[0].threads === 1 ? ` (tsface x${ratio(0, k).toFixed(2)})` : ''}`);
      console.log(`${name.padEnd(26)} wasm-simd ceiling: ${((2 * kernelMacs) / 1e9).toFixed(2)} GFLOP as the kernels run it (Winograd's multiplies counted), at simd-peak-mul-add's ${peakGflops.toFixed(1)} GFLOP/s in turns: at least ${(ms[p] * scale).toFixed(2)} ms a pass${against.join('')}`);
    }
    for (const r of runners) await r.dispose();
    for (const backend of backends) await backend.dispose();
  }
  // tf.js's pure-JS backend, alone (seconds a run; not in quick runs).
  if (anchors && !quick && macs * 2 < 4e9) {
    const r = await tfjsAnchor('cpu', net, x, 1, median);
    if (typeof r === 'string') console.log(`${name.padEnd(26)} anchor skipped: ${r}`);
    else record({ case: name, ...r, gflops: gflops(r.ms) }, perItem(r.ms));
  }
}

/** The anchors of a net case, ready to run: tf.js wasm, onnxruntime-node and -web at 1 and 2 threads. */
async function anchorRunners(name: string, net: Net, x: Tensor, onnx: string | null): Promise<AnchorRunner[]> {
  const made: (AnchorRunner | string)[] = [await tfjsRunner('wasm', net, x)];
  if (onnx) {
    for (const threads of [1, 2]) made.push(await onnxRunner(onnx, x, threads));
    for (const threads of [1, 2]) made.push(await ortWebRunner(onnxPath(onnx), x, threads));
  }
  for (const r of made) if (typeof r === 'string') console.log(`${name.padEnd(26)} anchor skipped: ${r}`);
  return made.filter((r): r is AnchorRunner => typeof r !== 'string');
}

/**
 * End to end, file bytes in and faces out (decoding included) when `file` is given; then the
 * PyTorch stand-in of facenet-pytorch (PIL decode + the cascade in torch) on the same file.
 */
async function detectCase(name: string, image: RgbImage, encoded: Uint8Array | null, runs: number, file?: string): Promise<void> {
  if (!wanted(name)) return;
  for (const group of modeGroups()) {
    const detectors = group.map((b) => new FaceDetector({ backend: b.make() }));
    const last = await Promise.all(detectors.map((d) => d.detect(image)));
    const { ms, ratioToFirst } = await interleaved(detectors.map((d, k) => async () => (last[k] = await d.detect(encoded ?? image))), runs, WARMUP - 1, quick ? 0 : WARMUP_MS);
    group.forEach((b, k) => {
      const s = last[k].report.ms;
      record({ case: name, backend: b.backend, mode: detectors[k].backend.describe().mode, threads: b.threads, ms: ms[k], gflops: null, ...executorOf(detectors[k].backend), ...(k > 0 ? { scaling: ratioToFirst[k] } : {}) },
        `${last[k].faces.length} faces; decode ${s.decode.toFixed(0)}, pyramid ${s.pyramid.toFixed(0)}, P-Net ${s.pnet.toFixed(0)}, R-Net ${s.rnet.toFixed(0)}, O-Net ${s.onet.toFixed(0)}, post ${s.post.toFixed(0)} ms${k > 0 ? `; x${ratioToFirst[k].toFixed(2)} in turns with 1 thread` : ''}`);
    });
    for (const d of detectors) await d.backend.dispose();
  }
  if (!anchors || !file) return;
  for (const threads of [1, 2]) {
    const r = await pytorchAnchor([file], threads, runs);
    if (typeof r === 'string') console.log(`${name.padEnd(26)} anchor skipped: ${r}`);
    else record({ case: name, ...r, engine: r.engine ?? 'native', gflops: null }, 'PIL decode + the cascade in torch (tools/reference/mtcnn_cascade.py)');
  }
}

function ratios(): void {
  console.log(`\nratios tsface / anchor, each at the anchor's thread count (tsface ${DEFAULT_MODE}; below 1 means tsface is faster;`);
  console.log('net cases: median over turns taken in turns with tsface; others: median over median).');
  console.log('[native]: machine code (onnxruntime-node, PyTorch: AVX2/FMA/AVX-512 here); [wasm]: WebAssembly with 128-bit SIMD, as tsface; [javascript]: tf.js cpu');
  for (const name of [...new Set(rows.map((r) => r.case))]) {
    const mine = (threads: number) => rows.find((r) => r.case === name && r.backend === 'cpu' && r.mode === DEFAULT_MODE && r.threads === threads);
    const others = rows.filter((r) => r.case === name && r.backend !== 'cpu' && r.backend !== 'gpujs');
    if (!others.length || !mine(1)) continue;
    const label = (o: Row) => `${o.backend}${o.threads > 1 ? ` x${o.threads}` : ''} [${o.engine === 'webassembly' ? 'wasm' : o.engine ?? 'native'}]`;
    const parts = others.map((o) => {
      const me = mine(o.threads);
      // Per turn where the anchor took turns with tsface (net cases), else median over median.
      const r = o.vsTsface ?? (me ? me.ms / o.ms : undefined);
      return r !== undefined ? `${label(o)} ${r.toFixed(2)}` : null;
    }).filter((p) => p !== null);
    console.log(`  ${name.padEnd(24)} ${parts.join(', ')}`);
  }
}

console.log(`tsface benchmark: median of runs, ${new Date().toISOString()}, node ${process.version}`);
await gemmCase(quick ? 5 : 15);
await dispatchCase(quick ? 3 : 7);
await convCase('conv3x3-16-32-108x192', [1, 16, 108, 192], 32, 3, 1, quick ? 5 : 15);
await convCase('pnet-conv3-16-32-237x317', [1, 16, 237, 317], 32, 3, 0, quick ? 3 : 9);
// R-Net's last conv on a batch: 3x3 outputs per crop, where per-crop copies weigh more than the GEMM.
await convCase('rnet-conv3-48-64-b256', [256, 48, 4, 4], 64, 2, 0, quick ? 5 : 15);
await backwardConvCases(record, wanted, quick ? 2 : 5);
await trainStepCases(record, (name) => (only ? wanted(name) : args.includes('--train-step')), quick ? 3 : 5);

const mtcnn = loadMtcnn();
await netCase('pnet-480x640', mtcnn.pnet, () => pnetLevel(480, 640), quick ? 2 : 5, 'pnet');
await netCase('rnet-b256', mtcnn.rnet, () => cascadeCrops(24, 256), quick ? 2 : 5, 'rnet');
await netCase('onet-b64', mtcnn.onet, () => cascadeCrops(48, 64), quick ? 2 : 5, 'onet');
// Parsing OpenFace's CSV dump takes seconds: only when an nn4small2 case runs.
if (wanted('nn4small2-b1') || wanted('nn4small2-b32')) {
  const nn4 = nn4Weights();
  await netCase('nn4small2-b1', nn4, () => alignedFaces(EMBEDDING_SPECS.nn4small2, 1), quick ? 3 : 30, 'nn4small2');
  await netCase('nn4small2-b32', nn4, () => alignedFaces(EMBEDDING_SPECS.nn4small2, 32), quick ? 1 : 3, 'nn4small2');
}
const mfn = loadMobileFaceNet();
await netCase('mobilefacenet-b1', mfn, () => alignedFaces(EMBEDDING_SPECS.mobilefacenet, 1), quick ? 3 : 30, 'mobilefacenet');
await netCase('mobilefacenet-b32', mfn, () => alignedFaces(EMBEDDING_SPECS.mobilefacenet, 32), quick ? 1 : 3, 'mobilefacenet');
await disposeRealInputs();
await closeOrtWeb();

if (existsSync(`${SHARED}images/multiface.jpg`)) {
  const bytes = readFileSync(`${SHARED}images/multiface.jpg`);
  await detectCase('detect-multiface', toRgbImage(bytes), bytes, quick ? 2 : 5, `${SHARED}images/multiface.jpg`);
  // multiface.jpg enlarged to 1920x1080 by PIL and saved as JPEG: both engines decode the same file.
  const hd = upscaledMultiface(mkdtempSync(join(tmpdir(), 'tsface-bench-')));
  if (typeof hd === 'string') {
    const hdBytes = readFileSync(hd);
    await detectCase('detect-1920x1080', toRgbImage(hdBytes), hdBytes, quick ? 1 : 3, hd);
  } else {
    console.warn(`!!! detect-1920x1080 skipped: ${hd.skip} !!!`);
  }
} else {
  console.warn('!!! ../shared/images is absent: SKIPPING detect-multiface and detect-1920x1080 !!!');
}
for (const row of decodeRows(SHARED, wanted, quick ? 5 : 15)) record(row);
const example = fileURLToPath(new URL('../../examples/astronaut.jpg', import.meta.url));
await detectCase('detect-example-512x512', toRgbImage(example), readFileSync(example), quick ? 2 : 5);
ratios();

if (jsonFile) {
  writeFileSync(jsonFile, `${JSON.stringify(rows, null, 1)}\n`);
  console.log(`wrote ${rows.length} rows to ${jsonFile}`);
}
process.exit(0);
