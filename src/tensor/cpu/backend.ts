import { allowRelaxedSimd, env, hardwareThreads, keepBuffersAttached, nextTask, sharedMemoryUnavailable } from '../../platform/index.ts';
import { isSharedMemory, newSharedMemory } from '../../platform/sharedMemory.ts';
import type { Backend, BackendCapabilities, BackendReport, BatchNormParams, GraphForward, LrnOptions, RowGeometry } from '../backend.ts';
import type { BatchNormBackwardParams, BatchStats } from '../backward.ts';
import { checkSlice, convGradGeometry, croppedSize, poolGradGeometry, sameShapes } from '../gradGeometry.ts';
import { ShapeError } from '../../errors.ts';
import { simdFirstConvFits } from './simdFirstConv.ts';
import { padding4, pair, windowGeometry, type Conv2dOptions, type ConvGeometry, type Padding, type Pool2dOptions, type Region } from '../geometry.ts';
import { parametersGeneration, sameShape, shapeSize, Tensor } from '../tensor.ts';
import {
  chunkFor, convReduction, convTaskCount, convTasks, depthwiseTasks, isDepthwise, smallMapItems,
  packConvWeights, packedWeightLength, type ConvPlan,
} from './conv2d.ts';
import * as grad from './grad/index.ts';
import { inputGradTaskCount, sumWeightGradPartials, weightGradPartialLength, weightGradTasks } from './grad/convGemm.ts';
import { runConvGradTasks, type ConvGradJob } from './grad/convGradJob.ts';
import { conv2dInputGradReference, conv2dWeightGradReference } from './grad/convReference.ts';
import * as pw from './pointwise.ts';
import { pool2d, type PoolKind } from './pool.ts';
import { areaResizeNormalized } from './resample.ts';
import { denseGroups, forgetPackedDenseRows, packedDenseRows, simdDense, simdDenseGroups } from './simdDense.ts';
import { simdGemmSupported } from './simdGemm.ts';
import { simdLrn, simdLrnFits } from './simdLrn.ts';
import { simdMaxPool2d, simdMaxPoolSupported } from './simdPool.ts';
import { recordPass, type RecordedPass } from './passTape.ts';
import { ThreadPool, type Handoff } from './threadPool.ts';
import type { PassResult } from './jobs.ts';
import { BufferPool } from './bufferPool.ts';
import { channelSlices, convSliceTaskCount, convSliceTasks } from './convSlices.ts';
import { simdWinogradSupported } from './simdWinograd.ts';
import { simdAdd, simdAddSupported } from './simdAdd.ts';
import { winogradFits, winogradTileFor, winogradWeightLength, winogradWeights } from './winograd.ts';

export interface CpuBackendOptions {
  /** Threads to use, the calling one included. Default: TSFACE_THREADS, else up to 2 cores. */
  threads?: number;
  /**
   * Convolution (dense, grouped, depthwise), fully connected layers, max pooling and LRN with
   * beta 0.75 on WebAssembly SIMD kernels (float32 lanes) where the engine has wasm SIMD.
   * Default: true unless TSFACE_SIMD=0. False keeps every op in plain TypeScript (float64
   * accumulation), the reference path.
   */
  simd?: boolean;
  /**
   * Stride-1 3x3 dense convolutions with enough channels as Winograd F(m x m, 3x3) on the SIMD
   * kernels (winograd.ts, m from winogradTile): fewer multiplications per output, rounding slightly
   * differently from the direct GEMM (measured error and speed: README, Backends). Default: true
   * unless TSFACE_WINOGRAD=0, which keeps the direct GEMM for comparison. Needs simd.
   */
  winograd?: boolean;
  /**
   * The largest output block side of those Winograd convs. 4: F(4x4, 3x3) (36 multiplications per
   * 16 outputs where the direct conv does 144) for convs of 32 input channels or more, F(2x2, 3x3)
   * below (winogradTileFor says why); 2: F(2x2, 3x3) (16 per 4 against 36) everywhere, which
   * rounds less (measured error and speed: README, Backends). Passes to differentiate take
   * F(2x2) either way (Conv2dOptions.exact). Default: 4 unless TSFACE_WINOGRAD_TILE=2.
   */
  winogradTile?: 2 | 4;
  /**
   * The SIMD GEMMs (convolutions direct and Winograd, fully connected layers) accumulate with
   * relaxed SIMD's f32x4.relaxed_madd: one fused multiply-add per step where the CPU has FMA,
   * which rounds once instead of twice. Results then differ from the default path in the last
   * bits and, since relaxed SIMD leaves fusing to the CPU, between machines (measured error and
   * speed: README, Backends). Default: false unless TSFACE_FMA=1. Needs simd and an engine with
   * relaxed SIMD (Node 20 has it behind a V8 flag, which this turns on); without it, a
   * `fallback` in describe() says so and the separate multiply and add run.
   */
  fma?: boolean;
  /**
   * Each thread keeps the packed weights of the convolutions it has run in its kernels'
   * WebAssembly memory (up to 32 MB a kernel module, weightResidency.ts) instead of copying them
   * in at every call: one face through nn4.small2 copied 18 MB of weights a pass. Same bits either
   * way. Default: true unless TSFACE_RESIDENT_WEIGHTS=0, which copies at every call as before.
   */
  residentWeights?: boolean;
  /**
   * A conv followed by max pooling (Conv2dOptions.maxPool: MTCNN's first convs) pools each band
   * of its output in the kernel's memory while it is in cache, instead of writing the whole
   * output and reading it back (O-Net's: 17 MB for 64 crops). Same bits either way. Default:
   * true unless TSFACE_POOL_IN_CONV=0, which runs the pooling after the conv.
   */
  poolInConv?: boolean;
  /**
   * Whether convs of 3 input channels (every net's first: MTCNN's 3x3, nn4.small2's 7x7 stride 2,
   * MobileFaceNet's 3x3 stride 2) run as the direct kernel of simdFirstConv.ts, which reads the
   * input rows where they lie, rather than im2col + GEMM. Same bits either way. Default: true
   * unless TSFACE_FIRSTCONV=0. Off, the pooling after them runs apart too (poolInConv).
   */
  firstConv?: boolean;
  /**
   * How an op's share reaches a worker (threadPool.ts): 'spin', through a mailbox on shared
   * memory that the worker watches, a few microseconds; 'message', by postMessage, about 0.1 ms
   * each way. Whole passes go by message either way. Results are the same bits either way.
   * Default: 'spin' ('message' with TSFACE_HANDOFF=message). A page's main thread, which may not
   * sleep, spins while a worker finishes its share (at most a few milliseconds, then it polls).
   */
  handoff?: Handoff;
  /**
   * Ops of a single pass below this much work stay on the calling thread: multiply-adds, a
   * depthwise conv's counted DEPTHWISE_WORK times (default 1 M with the spin hand-off, 50 M with
   * messages; tests lower it to check the op-by-op sharing on small tensors).
   */
  shareOpsFromMacs?: number;
  /**
   * Batches whose pass is expected to take at least this long on one thread are split between
   * threads (default 4 ms). A machine's speed decides which batches pass the default, so tests
   * that must see a split whatever the machine set 0.
   */
  splitBatchesFromMs?: number;
  /**
   * Pieces a split batch is cut into per thread, taken in turn by the free threads (default 1:
   * each thread one even share). More pieces let a slower thread take fewer, but each item runs
   * slower in a smaller batch: four pieces a thread took onet-b64 x1.16 as long on two threads,
   * rnet-b256 x1.20 (`npm run bench:ab -- onet-b64 --option piecesPerLane=4 --threads 2`).
   */
  piecesPerLane?: number;
  /** The same for a single large pass of a fully convolutional net cut into bands of rows (default 12 ms). */
  splitRowsFromMs?: number;
  /** Bytes of released buffers kept for reuse (default 256 MiB: MobileFaceNet's working set on 32 faces). */
  spareBytes?: number;
}

/**
 * Ops of a single pass smaller than this many multiply-adds run on the calling thread only.
 * Handing an op's shares to a worker costs a message and a wake-up (about 0.1 ms), a copy of its
 * input into shared memory when the op before ran here alone, and a wait for the slower thread;
 * on the 2-core VMs measured, MobileFaceNet and nn4.small2 on one face ran slower on two threads
 * than on one with the old 1.5 M threshold (`npm run bench`: mobilefacenet-b1 43 -> 71 ms,
 * nn4small2-b1 21 -> 33) and level at 50 M (x0.98 and x1.01 timed in turns).
 */
const THREADING_MIN_MACS = 50_000_000;
/**
 * The same with the spin hand-off (handoff.ts), whose cost is a few microseconds plus a share
 * of the input's copy to shared memory: 1 M multiply-adds take 0.05-0.1 ms on one thread. Ops
 * are judged by size, never by a time measured on this machine: the same op then takes the same
 * path on every run and every machine.
 */
const SPIN_THREADING_MIN_MACS = 1_000_000;
/**
 * A depthwise conv's multiply-add counts as this many of a dense conv's when judging its size:
 * it has no GEMM to run (9 taps per output), and MobileFaceNet's take about 10x the time per
 * multiply-add of its 1x1 convs on one thread.
 */
const DEPTHWISE_WORK = 8;
/**
 * With the spin hand-off, a conv is shared only when it does at least this many multiply-adds
 * per input value: each thread copies (its part of) the input into its kernel memory, and a 1x1
 * conv to few channels (nn4.small2's 256 -> 32 on 12x12, 0.08 ms) costs little more than that
 * copy. Measured on whole passes of one face (2-core VM, two threads against one in turns, a
 * scratch timing script, not a bench command):
 * from 128, MobileFaceNet 1.26-1.37x, whose projections to 64 channels (2.7 ms of its 16) then
 * stayed on one thread; from 64, 1.42-1.46x (from 32, 1.45-1.51x), and nn4.small2 the same
 * either way (1.24-1.34x).
 */
const SPIN_MIN_MACS_PER_INPUT = 64;

/** The hand-off where none is asked for (CpuBackendOptions.handoff). */
function defaultHandoff(): Handoff {
  const asked = env('TSFACE_HANDOFF');
  return asked === 'message' ? 'message' : 'spin';
}

/**
 * Released buffers kept for reuse, at most: one net's working set (MobileFaceNet on 32 faces
 * needs about 180 MB), the oldest released going first so sizes of an earlier batch age out.
 */
const SPARE_BYTES = 256 * 2 ** 20;
/** Batches whose pass takes at least this long on one thread are split between threads (runGraph). */
const PASS_SPLIT_MIN_MS = 4;
/** A split batch is cut into this many pieces per thread by default (CpuBackendOptions.piecesPerLane)... */
const PIECES_PER_LANE = 1;
/**
 * ...each worth at least this long on one thread where there are more: a piece on a worker costs
 * a message each way and a copy of its input, 0.1 to 0.2 ms (`npm run bench`'s pool-dispatch
 * row), so a few percent of it.
 */
const PIECE_MIN_MS = 4;
/**
 * A single pass of a fully convolutional net expected to take at least this long on one thread
 * is split into bands of rows, one per thread. Below it the hand-offs and the bands' overlap
 * weigh more, and the pipeline's P-Net tiles (about 7 ms each) already come as independent
 * passes that keep the threads busy.
 */
const ROW_SPLIT_MIN_MS = 12;
/**
 * Bands start on an even output row, so that the 2x2 output blocks of Winograd convs fall where
 * the whole input's do (every conv of a band then rounds as on the whole input).
 */
const ROW_ALIGN = 2;
/** Softmax inputs smaller than this many values run on the calling thread only. */
const SOFTMAX_THREADING_MIN = 32_768;

/** A net's recorded pass and the workers that hold it. */
interface PassTape extends RecordedPass {
  id: number;
  sentTo: Set<number>;
  /** The recording pass's time per item, to judge whether a batch is worth splitting. */
  msPerItem: number;
  /** The same per input value, for nets that take any input size. */
  msPerValue: number;
  /** Bytes of each output of the last pass a worker ran, by input shape: the spares sent with the next. */
  outputBytes: Map<string, number[]>;
  /** A conv of the pass runs as F(4x4, 3x3), so bands of its rows would not round as the whole pass (winogradTileFor). */
  largeBlocks: boolean;
}

function defaultThreads(): number {
  const given = Number(env('TSFACE_THREADS'));
  if (Number.isInteger(given) && given >= 1) return given;
  return Math.max(1, Math.min(2, hardwareThreads()));
}

/**
 * The plain-TypeScript backend: the reference every other backend is checked against, and
 * the fallback where no other runs. Convolution is im2col + a 4x4 register-blocked GEMM,
 * shared between threads by output chunks.
 */
export class CpuBackend implements Backend {
  readonly name = 'cpu';
  readonly threads: number;
  /** Whether the WebAssembly SIMD kernels run (see CpuBackendOptions.simd). */
  readonly simd: boolean;
  /** Whether eligible convs run as Winograd F(m x m, 3x3) (see CpuBackendOptions.winograd). */
  readonly winograd: boolean;
  /** The Winograd convs' output block side (see CpuBackendOptions.winogradTile). */
  readonly winogradTile: 2 | 4;
  /** Whether the kernels keep the packed weights between calls (see CpuBackendOptions.residentWeights). */
  readonly residentWeights: boolean;
  /** Whether the SIMD GEMMs use fused multiply-adds (see CpuBackendOptions.fma). */
  readonly fma: boolean;
  /** Whether first convs pool their output in place (see CpuBackendOptions.poolInConv). */
  readonly poolInConv: boolean;
  /** Whether 3-channel convs run as the direct kernel (see CpuBackendOptions.firstConv). */
  readonly firstConv: boolean;
  /** How ops' shares reach the workers (see CpuBackendOptions.handoff). */
  readonly handoff: Handoff;
  private workers: ThreadPool | null = null;
  private scratch = new Float32Array(0);
  /** Packed weights, keyed by the weight tensor (weights outlive many forward passes). */
  private packed = new WeakMap<Tensor, Float32Array>();
  /** Winograd-transformed weights, keyed like `packed`. */
  private transformed = new WeakMap<Tensor, Float32Array>();
  /** The parametersGeneration() the weight-derived caches were filled under. */
  private generation = parametersGeneration();

  /** Drops every cache derived from weights if a parameter has changed in place since it was filled. */
  private checkParameters(): void {
    const now = parametersGeneration();
    if (now === this.generation) return;
    this.generation = now;
    this.packed = new WeakMap();
    this.transformed = new WeakMap();
    this.sharedParams = new WeakMap();
    this.tapes = new WeakMap();
    forgetPackedDenseRows();
  }

  constructor(options: CpuBackendOptions = {}) {
    // Threads share tensors through SharedArrayBuffers: where there are none (a page that is not
    // cross-origin isolated) everything runs here, whatever was asked, and describe() says why.
    this.threadLimit = sharedMemoryUnavailable() ?? undefined;
    this.threads = this.threadLimit ? 1 : Math.max(1, Math.floor(options.threads ?? defaultThreads()));
    this.pool = new BufferPool(options.spareBytes ?? SPARE_BYTES);
    this.handoff = options.handoff ?? defaultHandoff();
    this.shareFromMacs = options.shareOpsFromMacs ?? (this.handoff === 'spin' ? SPIN_THREADING_MIN_MACS : THREADING_MIN_MACS);
    this.depthwiseWork = this.handoff === 'spin' ? DEPTHWISE_WORK : 1;
    this.splitBatchesFromMs = options.splitBatchesFromMs ?? PASS_SPLIT_MIN_MS;
    this.piecesPerLane = Math.max(1, Math.floor(options.piecesPerLane ?? PIECES_PER_LANE));
    this.splitRowsFromMs = options.splitRowsFromMs ?? ROW_SPLIT_MIN_MS;
    const wanted = options.simd ?? env('TSFACE_SIMD') !== '0';
    this.simd = wanted && simdGemmSupported() && simdMaxPoolSupported();
    this.winogradTile = options.winogradTile ?? (env('TSFACE_WINOGRAD_TILE') === '2' ? 2 : 4);
    this.winograd = this.simd && (options.winograd ?? env('TSFACE_WINOGRAD') !== '0') && simdWinogradSupported(false, this.winogradTile);
    const fmaWanted = this.simd && (options.fma ?? env('TSFACE_FMA') === '1');
    if (fmaWanted) allowRelaxedSimd();
    this.fma = fmaWanted && simdGemmSupported(true) && (!this.winograd || simdWinogradSupported(true, this.winogradTile));
    this.residentWeights = options.residentWeights ?? env('TSFACE_RESIDENT_WEIGHTS') !== '0';
    this.poolInConv = options.poolInConv ?? env('TSFACE_POOL_IN_CONV') !== '0';
    this.firstConv = options.firstConv ?? env('TSFACE_FIRSTCONV') !== '0';
    this.fallback = wanted && !this.simd ? 'asked for the wasm SIMD kernels, this engine has no WebAssembly SIMD: every op runs in TypeScript'
      : fmaWanted && !this.fma ? 'asked for fused multiply-adds, this engine has no WebAssembly relaxed SIMD: separate multiply and add' : undefined;
  }

  private readonly fallback: string | undefined;
  private readonly threadLimit: string | undefined;
  private readonly shareFromMacs: number;
  /** What a depthwise multiply-add counts for against shareFromMacs (1 with messages, as before the spin hand-off). */
  private readonly depthwiseWork: number;
  private readonly splitBatchesFromMs: number;
  private readonly piecesPerLane: number;
  private readonly splitRowsFromMs: number;

  get capabilities(): BackendCapabilities {
    return { hostTensors: true, winogradBlocks: this.winograd, compilesPerShape: false };
  }

  describe(): BackendReport {
    const mode = !this.simd ? 'typescript' : `typescript+wasm-simd${this.winograd ? '+winograd' : ''}${this.fma ? '+fma' : ''}`;
    const report: BackendReport = { backend: 'cpu', mode, threads: this.threads };
    if (this.fallback) report.fallback = this.fallback;
    if (this.threadLimit) report.threadLimit = this.threadLimit;
    return report;
  }

  /**
   * Output tensors, in memory released before (release(), bufferPool.ts) where there is some.
   * Every op writes every element of its output, so reused memory needs no clearing. Only an op
   * shared with workers gets shared memory: with SharedArrayBuffers throughout, P-Net's ops ran
   * about 15% slower on one thread (V8 14.x on Xeon, measured with the worker idle), so an op on
   * this thread alone keeps to plain ArrayBuffers.
   */
  private alloc(shape: readonly number[], shared = false): Tensor {
    return new Tensor(shape, this.pool.take(shapeSize(shape), shared));
  }

  /** Released buffers (bufferPool.ts). */
  private readonly pool: BufferPool;

  /** Runs a forward pass; the pool then keeps only what recent passes needed (bufferPool.ts). */
  async inPass<T>(run: () => Promise<T>): Promise<T> {
    const mark = this.pool.startPass();
    try {
      return await run();
    } finally {
      this.pool.endPass(mark);
    }
  }

  /** `t`'s buffer to move to another thread, when `t` owns it (else null: send a copy); the pool forgets it. */
  transferable(t: Tensor): ArrayBuffer | null {
    return this.pool.transferable(t.data);
  }

  release(t: Tensor): void {
    this.pool.give(t.data);
  }

  /** Shared-memory copies of parameters (biases, slopes), made once per array. */
  private sharedParams = new WeakMap<Float32Array, Float32Array>();

  private shared(a: Float32Array): Float32Array {
    if (isSharedMemory(a.buffer)) return a;
    const copy = new Float32Array(newSharedMemory(a.byteLength));
    copy.set(a);
    return copy;
  }

  /**
   * Runs `work` on x's values in shared memory: x itself when it already is (every output of a
   * threaded backend), else a copy in a pooled buffer, returned to the pool after. A new
   * SharedArrayBuffer per call cost its page faults on every P-Net input.
   */
  private async onShared(x: Tensor, work: (xs: Float32Array) => Promise<void>): Promise<void> {
    if (isSharedMemory(x.data.buffer)) return work(x.data);
    const copy = this.alloc(x.shape, true);
    copy.data.set(x.data);
    try {
      await work(copy.data);
    } finally {
      this.release(copy);
    }
  }

  private sharedParam(a: Float32Array): Float32Array {
    let s = this.sharedParams.get(a);
    if (!s) {
      s = this.shared(a);
      this.sharedParams.set(a, s);
    }
    return s;
  }

  private getPool(): ThreadPool {
    this.workers ??= new ThreadPool(this.threads, { handoff: this.handoff });
    return this.workers;
  }

  concurrentPasses(): number {
    return this.threads;
  }

  /** Whether an op may hand shares to workers now: none is free while all run whole passes. */
  private shareable(): boolean {
    return this.threads > 1 && (this.workers === null || this.workers.available > 0);
  }

  /** Tapes of the nets this backend ran (null: the net's pass cannot be replayed elsewhere). */
  private tapes = new WeakMap<object, PassTape | null>();
  private nextTape = 1;
  /** Passes running on this thread now (forward passes awaiting their ops). */
  private localPasses = 0;

  /**
   * Whole passes on worker threads, where the work comes as whole passes: a batch is cut into
   * pieces the threads take in turn, each running its items through the whole net on one core
   * (items of a batch never mix, so the outputs are the same bits), and a pass given while another runs
   * here goes to a free worker (the pipeline's concurrent P-Net tiles). One long pass of a
   * single item runs as bands of rows where the net gives its RowGeometry (inRowBands), else
   * shares its largest ops. The first pass of a net runs here and records the tape the workers
   * replay (passTape.ts).
   */
  async runGraph(graph: object, forward: GraphForward, x: Tensor, rows?: RowGeometry): Promise<Record<string, Tensor>> {
    if (this.threads === 1) return this.inPass(() => forward(this, x));
    this.checkParameters();
    const tape = this.tapes.get(graph);
    const n = x.shape[0];
    if (tape === undefined) {
      const t0 = performance.now();
      const { out, pass } = await this.local(() => recordPass(this, forward, x));
      const ms = performance.now() - t0;
      this.tapes.set(graph, pass && {
        id: this.nextTape++, ...pass, sentTo: new Set(), msPerItem: ms / n, msPerValue: ms / x.size, outputBytes: new Map(), largeBlocks: this.takesLargeBlocks(pass),
      });
      return out;
    }
    if (tape === null) return this.local(() => forward(this, x));
    if (rows && n === 1 && !tape.largeBlocks && this.localPasses === 0 && tape.msPerValue * x.size >= this.splitRowsFromMs) {
      const banded = await this.inRowBands(tape, forward, x, rows);
      if (banded) return banded;
    }
    // Splitting pays once the pass is long against a hand-off (a message each way, a copy of the input).
    const split = n >= 2 && n * tape.msPerItem >= this.splitBatchesFromMs;
    if (!split && this.localPasses === 0) return this.timedLocal(tape, forward, x);
    const pool = this.getPool();
    // A single item goes to one worker whole; a batch is split evenly, this thread included.
    const whole = !split;
    const taken: number[] = [];
    for (let w = pool.acquire(); w !== null; w = whole || taken.length + 1 >= n ? null : pool.acquire()) taken.push(w);
    if (taken.length === 0) return this.timedLocal(tape, forward, x);
    try {
      if (whole) return await this.remotePass(pool, taken[0], tape, x.data, [...x.shape]);
      // The split is one pass for the pool: its pieces, their inputs and the joined outputs
      // are what a repeat of it needs (bufferPool.ts).
      return await this.inPass(async () => {
        // The batch is cut into pieces that the lanes (the workers taken and this thread) take in
        // turn as each finishes its last: one each by default; with more (piecesPerLane), a lane
        // that runs slower (a busy core of the host) takes fewer.
        const lanes = taken.length + 1;
        const parts = Math.max(lanes, Math.min(n, lanes * this.piecesPerLane, Math.floor((n * tape.msPerItem) / PIECE_MIN_MS)));
        const per = x.size / n;
        const bounds = Array.from({ length: parts + 1 }, (_, k) => Math.round((k * n) / parts));
        const slice = (k: number) => x.data.subarray(bounds[k] * per, bounds[k + 1] * per);
        const itemsOf = (k: number) => [bounds[k + 1] - bounds[k], ...x.shape.slice(1)];
        const results: Record<string, Tensor>[] = new Array(parts);
        let next = 0;
        const lane = async (w: number | null) => {
          for (let k = next++; k < parts; k = next++) {
            if (w !== null) results[k] = await this.remotePass(pool, w, tape, slice(k), itemsOf(k));
            else results[k] = await this.timedLocal(tape, forward, new Tensor(itemsOf(k), slice(k)));
          }
        };
        await Promise.all([...taken.map((w) => lane(w)), lane(null)]);
        const out: Record<string, Tensor> = {};
        for (const name of Object.keys(results[0])) {
          const itemShape = results[0][name].shape.slice(1);
          const joined = this.alloc([n, ...itemShape]);
          let at = 0;
          for (const r of results) {
            joined.data.set(r[name].data, at);
            at += r[name].size;
          }
          out[name] = joined;
        }
        for (const r of results) for (const t of Object.values(r)) this.release(t);
        return out;
      });
    } finally {
      for (const w of taken) pool.giveBack(w);
    }
  }

  /** Whether a conv the pass recorded runs as Winograd F(4x4, 3x3) here. */
  private takesLargeBlocks(pass: RecordedPass): boolean {
    return pass.tape.steps.some((step) => {
      if (step.op !== 'conv2d') return false;
      const weight = pass.constants[(step.args[1] as { constant: number }).constant];
      const options = (step.args[3] ?? {}) as { stride?: number | [number, number]; groups?: number };
      const [cOut, cInG, kH, kW] = weight.shape;
      const stride = options.stride ?? 1;
      const [strideH, strideW] = typeof stride === 'number' ? [stride, stride] : stride;
      const groups = options.groups ?? 1;
      const plan = { simd: this.simd, kH, kW, strideH, strideW, groups, cIn: cInG * groups, cOut } as ConvPlan;
      return this.winograd && winogradFits(plan) && winogradTileFor(plan, this.winogradTile) === 4;
    });
  }

  /**
   * One item's pass as bands of rows, one per thread (workers first, the last band here), joined
   * into the whole outputs: each band reads the input rows its output rows need (RowGeometry),
   * neighbours overlapping by the field less the stride; the last band ends on the input's edge,
   * where ceil-mode pooling sees the same partial windows. Null when no worker is free or the
   * input is too short to split.
   */
  private async inRowBands(tape: PassTape, forward: GraphForward, x: Tensor, rows: RowGeometry): Promise<Record<string, Tensor> | null> {
    const [, c, h, w] = x.shape;
    // Output rows the whole input gives, but for a partial pooling window at the bottom edge.
    const outRows = Math.floor((h - rows.field) / rows.stride) + 1;
    const pool = this.getPool();
    const taken: number[] = [];
    while (taken.length + 1 < this.threads && outRows >= 2 * ROW_ALIGN * (taken.length + 2)) {
      const wk = pool.acquire();
      if (wk === null) break;
      taken.push(wk);
    }
    if (taken.length === 0) return null;
    try {
      // The bands are one pass for the pool, as a split batch's pieces are (runGraph).
      return await this.inPass(async () => {
        const parts = taken.length + 1;
        const first = Array.from({ length: parts }, (_, k) => ROW_ALIGN * Math.round((k * outRows) / parts / ROW_ALIGN));
        const band = (k: number): Tensor => {
          const r0 = rows.stride * first[k];
          const r1 = k + 1 < parts ? rows.stride * (first[k + 1] - 1) + rows.field : h;
          const b = this.alloc([1, c, r1 - r0, w]);
          for (let ch = 0; ch < c; ch++) b.data.set(x.data.subarray((ch * h + r0) * w, (ch * h + r1) * w), ch * (r1 - r0) * w);
          return b;
        };
        const remote = taken.map(async (wk, k) => {
          const b = band(k);
          try {
            return await this.remotePass(pool, wk, tape, b.data, [...b.shape], false);
          } finally {
            // Moved to the worker and back into the pool already, or (where this thread keeps
            // its buffers attached) copied into shared memory and still ours.
            this.release(b);
          }
        });
        const lastBand = band(parts - 1);
        const here = await this.timedLocal(tape, forward, lastBand);
        this.release(lastBand);
        const results = [...(await Promise.all(remote)), here];
        const out: Record<string, Tensor> = {};
        for (const name of Object.keys(here)) {
          results.slice(0, -1).forEach((r, k) => {
            if (r[name].shape[2] !== first[k + 1] - first[k]) throw new Error(`row bands: ${name} of band ${k} has ${r[name].shape[2]} rows, not ${first[k + 1] - first[k]}; the net's RowGeometry does not describe it`);
          });
          out[name] = this.joinRows(results.map((r) => r[name]));
        }
        for (const r of results) for (const t of Object.values(r)) this.release(t);
        return out;
      });
    } finally {
      for (const wk of taken) pool.giveBack(wk);
    }
  }

  /** [1, C, H_k, W] bands stacked into [1, C, sum H_k, W]. */
  private joinRows(bands: Tensor[]): Tensor {
    const [, c, , w] = bands[0].shape;
    const h = bands.reduce((sum, b) => sum + b.shape[2], 0);
    const out = this.alloc([1, c, h, w]);
    for (let ch = 0; ch < c; ch++) {
      let row = 0;
      for (const b of bands) {
        const bh = b.shape[2];
        out.data.set(b.data.subarray(ch * bh * w, (ch + 1) * bh * w), (ch * h + row) * w);
        row += bh;
      }
    }
    return out;
  }

  /** A pass here that also keeps the net's fastest time per item and per value (the first pass warms up code). */
  private async timedLocal(tape: PassTape, forward: GraphForward, x: Tensor): Promise<Record<string, Tensor>> {
    const t0 = performance.now();
    const out = await this.local(() => forward(this.yielding, x));
    const ms = performance.now() - t0;
    tape.msPerItem = Math.min(tape.msPerItem, ms / x.shape[0]);
    tape.msPerValue = Math.min(tape.msPerValue, ms / x.size);
    return out;
  }

  /** Whole passes on workers not yet answered. */
  private remotePasses = 0;
  /** Whole passes (or parts of a batch) run on workers so far, for tests and reports. */
  workerPasses = 0;

  /** Bytes of fresh buffers this thread's pool has made so far (the rest were reused), for tests and reports. */
  get freshBytes(): number {
    return this.pool.freshBytes;
  }

  /** Ops whose shares were offered to workers so far, for tests and reports. */
  get sharedOps(): number {
    return this.workers?.sharedOps ?? 0;
  }

  /**
   * This backend, but each op first lets the event loop run while a worker's pass is out: a
   * pass here is a chain of already-resolved promises that would otherwise keep a finished
   * worker's reply (and the next pass it could take) waiting until the whole pass ends.
   */
  private readonly yielding: Backend = new Proxy(this, {
    get: (target, key, receiver) => {
      const member = Reflect.get(target, key, receiver);
      if (typeof member !== 'function' || key === 'release' || key === 'describe') return member;
      return async (...args: unknown[]) => {
        if (this.remotePasses > 0) await nextTask();
        return member.apply(target, args);
      };
    },
  });

  private async local<T>(run: () => Promise<T>): Promise<T> {
    this.localPasses++;
    try {
      return await this.inPass(run);
    } finally {
      this.localPasses--;
    }
  }

  /**
   * One pass on worker `w`, which is sent the net's tape and constants first if it lacks them.
   * `x` is copied first (into a pooled buffer) unless `copy` is false (an array of its own). The
   * input's buffer moves to the worker and comes back with the outputs, which move here, and
   * spares from this thread's pool go with it for the worker's outputs (sized as the last pass
   * of that shape gave them): no buffer of the pass is copied by the message, made fresh, or
   * left for the collector.
   */
  private async remotePass(pool: ThreadPool, w: number, tape: PassTape, x: Float32Array, shape: number[], copy = true): Promise<Record<string, Tensor>> {
    if (!tape.sentTo.has(w)) {
      pool.send(w, {
        kind: 'tape', tapeId: tape.id, tape: tape.tape, simd: this.simd, winograd: this.winograd, winogradTile: this.winogradTile, fma: this.fma, poolInConv: this.poolInConv, firstConv: this.firstConv,
        constants: tape.constants.map((c) => ({ shape: c.shape, data: c.data })),
      });
      tape.sentTo.add(w);
    }
    this.remotePasses++;
    this.workerPasses++;
    // Where this thread keeps its buffers attached (a page's main thread: platform
    // keepBuffersAttached), the input goes in shared memory and no spares go along, so nothing
    // here is detached; the worker's outputs still come back moved.
    const attached = keepBuffersAttached();
    let sent = x;
    const ownCopy = copy || (attached && !isSharedMemory(x.buffer));
    if (ownCopy) {
      sent = this.alloc([x.length], attached).data;
      sent.set(x);
    }
    const shapeKey = shape.join('x');
    const spares = attached ? [] : (tape.outputBytes.get(shapeKey) ?? []).map((bytes) => this.pool.takeSpare(bytes)).filter((b) => b !== null);
    let result: PassResult;
    try {
      const moved = this.pool.transferable(sent);
      result = (await pool.request(w, { kind: 'pass', tapeId: tape.id, x: sent, shape, spares }, moved ? [moved, ...spares] : spares)) as PassResult;
    } finally {
      this.remotePasses--;
    }
    // The worker is done with a shared input of ours: it goes back to this thread's pool.
    if (ownCopy && attached) this.pool.give(sent);
    tape.outputBytes.set(shapeKey, Object.values(result.outputs).map((t) => t.data.byteLength));
    if (result.input) this.pool.give(new Float32Array(result.input));
    return Object.fromEntries(Object.entries(result.outputs).map(([name, t]) => {
      this.pool.adopt(t.data);
      return [name, new Tensor(t.shape, t.data)];
    }));
  }

  async conv2d(x: Tensor, weight: Tensor, bias: Tensor | null, options: Conv2dOptions = {}): Promise<Tensor> {
    this.checkParameters();
    const [n, cIn] = x.nchw('conv2d');
    if (weight.rank !== 4) throw new ShapeError('conv2d', 'weight must be [cOut, cIn/groups, kH, kW]', [weight.shape]);
    const [cOut, cInG, kH, kW] = weight.shape;
    const groups = options.groups ?? 1;
    if (!Number.isInteger(groups) || groups < 1 || cIn % groups !== 0 || cOut % groups !== 0 || cInG * groups !== cIn) {
      throw new ShapeError('conv2d', `input channels ${cIn} and weight do not fit groups=${groups}`, [x.shape, weight.shape]);
    }
    if (bias && (bias.size !== cOut)) throw new ShapeError('conv2d', `bias must hold ${cOut} values`, [weight.shape, bias.shape]);
    const g = windowGeometry('conv2d', x.shape, [kH, kW], options.stride, options.padding, false);
    const plan: ConvPlan = {
      n, cIn, inH: g.inH, inW: g.inW, cOut, kH, kW, strideH: g.strideH, strideW: g.strideW,
      padTop: g.padTop, padLeft: g.padLeft, outH: g.outH, outW: g.outW, groups, chunk: 0, simd: this.simd, fma: this.fma, firstConv: this.firstConv,
      activation: !options.activation ? 0 : options.activation.kind === 'relu' ? 1 : 2,
    };
    let alpha: Float32Array | null = null;
    if (options.activation?.kind === 'prelu') {
      alpha = options.activation.alpha.data;
      if (alpha.length !== cOut) throw new ShapeError('conv2d', `fused PReLU needs ${cOut} slopes`, [weight.shape, options.activation.alpha.shape]);
    }
    plan.chunk = chunkFor(convReduction(plan));
    if (this.winograd && winogradFits(plan)) {
      plan.winograd = true;
      plan.winogradTile = winogradTileFor(plan, options.exact ? 2 : this.winogradTile);
    }
    // packedWeights' arrays are never written after they are made: the kernels may keep them.
    plan.residentWeights = this.residentWeights;
    if (options.maxPool) {
      const o = options.maxPool;
      // Only the first-conv kernel pools its own output; elsewhere the pooling runs after.
      if (!this.poolInConv || !simdFirstConvFits(plan)) {
        const y = await this.conv2d(x, weight, bias, { ...options, maxPool: undefined });
        const pooled = await this.maxPool2d(y, o);
        this.release(y);
        return pooled;
      }
      plan.pool = windowGeometry('maxPool2d', [n, cOut, g.outH, g.outW], pair(o.kernel, 1), o.stride ?? o.kernel, o.padding, o.ceilMode ?? false);
    }
    if (!isDepthwise(plan)) plan.items = smallMapItems(plan);
    const macs = n * cOut * g.outH * g.outW * cInG * kH * kW;
    const threaded = this.shareable() && macs * (isDepthwise(plan) ? this.depthwiseWork : 1) >= this.shareFromMacs
      && (this.handoff !== 'spin' || isDepthwise(plan) || macs >= SPIN_MIN_MACS_PER_INPUT * x.size);
    const out = this.alloc(plan.pool ? [n, cOut, plan.pool.outH, plan.pool.outW] : [n, cOut, g.outH, g.outW], threaded);
    const b = bias ? bias.data : null;

    if (isDepthwise(plan)) {
      const total = n * cIn;
      if (!threaded) {
        depthwiseTasks(plan, x.data, weight.data, b, out.data, alpha, 0, total);
        return out;
      }
      const ws = this.sharedWeights(weight);
      const bs = b && this.sharedParam(b);
      const as = alpha && this.sharedParam(alpha);
      await this.onShared(x, (xs) => this.getPool().run({ kind: 'depthwise', plan, x: xs, weights: ws, bias: bs, alpha: as, out: out.data }, total,
        (from, to) => depthwiseTasks(plan, xs, ws, bs, out.data, as, from, to)));
      return out;
    }

    const packed = this.packedWeights(weight, plan, threaded);
    const total = convTaskCount(plan);
    const need = plan.chunk * convReduction(plan);
    if (this.scratch.length < need) this.scratch = new Float32Array(need);
    const scratch = this.scratch;
    if (!threaded) {
      convTasks(plan, x.data, packed, b, out.data, scratch, alpha, 0, total);
      return out;
    }
    const bs = b && this.sharedParam(b);
    const as = alpha && this.sharedParam(alpha);
    // One face's small maps have too few pixel chunks to share evenly, and its deep layers more
    // weights than input: cut by channels.
    const bounds = channelSlices(plan);
    if (bounds) {
      await this.onShared(x, (xs) => this.getPool().run({ kind: 'convSlices', plan, bounds, x: xs, weights: packed, bias: bs, alpha: as, out: out.data },
        convSliceTaskCount(bounds), (from, to) => convSliceTasks(plan, bounds, xs, packed, bs, out.data, scratch, as, from, to), true));
      return out;
    }
    await this.onShared(x, (xs) => this.getPool().run({ kind: 'conv', plan, x: xs, weights: packed, bias: bs, alpha: as, out: out.data }, total,
      (from, to) => convTasks(plan, xs, packed, bs, out.data, scratch, as, from, to)));
    return out;
  }

  private packedWeights(weight: Tensor, plan: ConvPlan, shared: boolean): Float32Array {
    if (plan.winograd) {
      let u = this.transformed.get(weight);
      const length = winogradWeightLength(plan);
      if (!u || u.length !== length || (shared && !isSharedMemory(u.buffer))) {
        u = winogradWeights(plan, weight.data, shared ? new Float32Array(newSharedMemory(length * 4)) : new Float32Array(length));
        this.transformed.set(weight, u);
      }
      return u;
    }
    let packed = this.packed.get(weight);
    const length = packedWeightLength(plan);
    if (!packed || packed.length !== length || (shared && !isSharedMemory(packed.buffer))) {
      const into = shared ? new Float32Array(newSharedMemory(length * 4)) : new Float32Array(length);
      packed = packConvWeights(plan, weight.data, into);
      this.packed.set(weight, packed);
    }
    return packed;
  }

  private sharedWeights(weight: Tensor): Float32Array {
    let s = this.packed.get(weight);
    if (!s || s.length !== weight.size) {
      s = this.shared(weight.data);
      this.packed.set(weight, s);
    }
    return s;
  }

  async relu(x: Tensor): Promise<Tensor> {
    const out = this.alloc(x.shape);
    pw.relu(x.data, out.data);
    return out;
  }

  async prelu(x: Tensor, alpha: Tensor): Promise<Tensor> {
    const c = x.rank >= 2 ? x.shape[1] : 1;
    if (alpha.size !== c) throw new ShapeError('prelu', `alpha must hold one value per channel (${c})`, [x.shape, alpha.shape]);
    const plane = x.rank > 2 ? shapeSize(x.shape.slice(2)) : 1;
    const out = this.alloc(x.shape);
    pw.prelu(x.data, alpha.data, x.shape[0] * c, c, plane, out.data);
    return out;
  }

  private async pooling(kind: PoolKind, op: string, x: Tensor, o: Pool2dOptions): Promise<Tensor> {
    const g = windowGeometry(op, x.shape, pair(o.kernel, 1), o.stride ?? o.kernel, o.padding, o.ceilMode ?? false);
    const planes = g.n * g.c;
    // Large max poolings (R-Net's and O-Net's batches) are split by planes like convolutions.
    const threaded = kind === 'max' && this.simd && this.shareable() && planes > 1 && planes * g.outH * g.outW * g.kH * g.kW >= this.shareFromMacs;
    const out = this.alloc([g.n, g.c, g.outH, g.outW], threaded);
    if (kind === 'max' && this.simd) {
      if (threaded) {
        await this.onShared(x, (xs) => this.getPool().run({ kind: 'maxPool', window: g, x: xs, out: out.data }, planes, (from, to) => simdMaxPool2d(g, xs, out.data, from, to)));
      } else {
        simdMaxPool2d(g, x.data, out.data);
      }
    } else {
      pool2d(kind, g, x.data, out.data, o.countIncludePad ?? true);
    }
    return out;
  }

  async maxPool2d(x: Tensor, options: Pool2dOptions): Promise<Tensor> {
    return this.pooling('max', 'maxPool2d', x, options);
  }
  async avgPool2d(x: Tensor, options: Pool2dOptions): Promise<Tensor> {
    return this.pooling('avg', 'avgPool2d', x, options);
  }
  async l2Pool2d(x: Tensor, options: Pool2dOptions): Promise<Tensor> {
    return this.pooling('l2', 'l2Pool2d', x, options);
  }

  async lrn(x: Tensor, o: LrnOptions): Promise<Tensor> {
    const [n, c, h, w] = x.nchw('lrn');
    const out = this.alloc(x.shape);
    if (this.simd && simdLrnFits(o.beta)) simdLrn(x.data, n, c, h * w, o.size, o.alpha, o.k, out.data);
    else pw.lrnChannels(x.data, n, c, h * w, o.size, o.alpha, o.beta, o.k, out.data);
    return out;
  }

  async batchNorm(x: Tensor, p: BatchNormParams): Promise<Tensor> {
    const c = x.shape[1];
    for (const t of [p.mean, p.variance, p.gamma, p.beta]) {
      if (t.size !== c) throw new ShapeError('batchNorm', `parameters must hold ${c} values`, [x.shape, t.shape]);
    }
    const out = this.alloc(x.shape);
    const plane = x.rank > 2 ? shapeSize(x.shape.slice(2)) : 1;
    pw.batchNorm(x.data, x.shape[0], c, plane, p.mean.data, p.variance.data, p.gamma.data, p.beta.data, p.eps, out.data);
    return out;
  }

  async dense(x: Tensor, weight: Tensor, bias: Tensor | null): Promise<Tensor> {
    this.checkParameters();
    const n = x.shape[0];
    const f = x.size / Math.max(n, 1);
    if (weight.rank !== 2 || weight.shape[1] !== f) {
      throw new ShapeError('dense', `weight must be [out, ${f}]`, [x.shape, weight.shape]);
    }
    const o = weight.shape[0];
    if (bias && bias.size !== o) throw new ShapeError('dense', `bias must hold ${o} values`, [weight.shape, bias.shape]);
    const groups = denseGroups(n);
    const threaded = this.simd && this.shareable() && groups > 1 && n * f * o >= this.shareFromMacs;
    const out = this.alloc([n, o], threaded);
    if (threaded) {
      const packed = packedDenseRows(weight.data, f, o, true);
      const bs = bias && this.sharedParam(bias.data);
      await this.onShared(x, (xs) => this.getPool().run({ kind: 'dense', x: xs, weights: packed, bias: bs, n, f, o, out: out.data, fma: this.fma }, groups,
        (from, to) => simdDenseGroups(xs, packed, bs, n, f, o, out.data, from, to, this.fma)));
    } else if (this.simd) simdDense(x.data, weight.data, bias ? bias.data : null, n, f, o, out.data, this.fma);
    else pw.dense(x.data, weight.data, bias ? bias.data : null, n, f, o, out.data);
    return out;
  }

  async softmax(x: Tensor): Promise<Tensor> {
    const plane = x.rank > 2 ? shapeSize(x.shape.slice(2)) : 1;
    // A rank-2 input is torch's last-dim case (multiply by the reciprocal), anything else a map.
    const [n, c] = x.shape;
    const rows = x.rank === 2;
    // simd: false is the reference path, TypeScript only (the SIMD kernel gives the same bits).
    const softmax = this.simd ? pw.softmaxChannels : pw.softmaxChannelsScalar;
    // Each exp in TypeScript is float32 arithmetic emulated in float64 (expf.ts): a large map is
    // worth sharing. Two channels on SIMD (MTCNN's) take 0.7 ms for P-Net's 480x640 map, less
    // than handing half of it to a worker costs.
    const threaded = this.shareable() && x.size >= SOFTMAX_THREADING_MIN && !(this.simd && c === 2);
    const out = this.alloc(x.shape, threaded);
    if (threaded) {
      await this.onShared(x, (xs) => this.getPool().run({ kind: 'softmax', x: xs, out: out.data, n, c, plane, rows, simd: this.simd }, n * plane,
        (from, to) => softmax(xs, n, c, plane, out.data, rows, from, to)));
    } else {
      softmax(x.data, n, c, plane, out.data, rows);
    }
    return out;
  }

  async concat(xs: readonly Tensor[]): Promise<Tensor> {
    if (xs.length === 0) throw new ShapeError('concat', 'no tensors given');
    const first = xs[0];
    let c = 0;
    for (const t of xs) {
      if (t.rank !== first.rank || t.shape[0] !== first.shape[0] || !sameShape(t.shape.slice(2), first.shape.slice(2))) {
        throw new ShapeError('concat', 'tensors differ outside the channel dimension', [first.shape, t.shape]);
      }
      c += t.shape[1];
    }
    const n = first.shape[0];
    const plane = first.rank > 2 ? shapeSize(first.shape.slice(2)) : 1;
    const out = this.alloc([n, c, ...first.shape.slice(2)]);
    let at = 0;
    for (let b = 0; b < n; b++) {
      for (const t of xs) {
        const per = t.shape[1] * plane;
        out.data.set(t.data.subarray(b * per, (b + 1) * per), at);
        at += per;
      }
    }
    return out;
  }

  async add(a: Tensor, b: Tensor): Promise<Tensor> {
    if (!sameShape(a.shape, b.shape)) throw new ShapeError('add', 'shapes differ', [a.shape, b.shape]);
    const out = this.alloc(a.shape);
    // Below a few vectors the copies through the module's memory cost more than the loop.
    if (this.simd && a.size >= 64 && simdAddSupported()) simdAdd(a.data, b.data, out.data);
    else pw.add(a.data, b.data, out.data);
    return out;
  }

  async l2Normalize(x: Tensor, eps = 1e-12): Promise<Tensor> {
    const out = this.alloc(x.shape);
    const plane = x.rank > 2 ? shapeSize(x.shape.slice(2)) : 1;
    pw.l2NormalizeChannels(x.data, x.shape[0], x.shape[1], plane, eps, out.data);
    return out;
  }

  async pad2d(x: Tensor, p: Padding): Promise<Tensor> {
    const [n, c, h, w] = x.nchw('pad2d');
    if (p.some((v) => !Number.isInteger(v) || v < 0)) throw new ShapeError('pad2d', `padding must be non-negative integers, got [${p.join(', ')}]`);
    const out = this.alloc([n, c, h + p[0] + p[1], w + p[2] + p[3]]);
    pw.pad2d(x.data, n * c, h, w, p[0], p[1], p[2], p[3], out.data);
    return out;
  }

  async resizeArea(image: { width: number; height: number; data: Uint8Array }, regions: readonly Region[], outH: number, outW: number): Promise<Tensor> {
    // Every value is written, so a pooled buffer serves (the caller releases it after the net's pass).
    const out = this.alloc([regions.length, 3, outH, outW]);
    regions.forEach((r, k) => areaResizeNormalized(image, r, outH, outW, out.data, k * 3 * outH * outW));
    return out;
  }

  async dispose(): Promise<void> {
    await this.workers?.dispose();
    this.workers = null;
  }

  // Backward ops (BackwardOps in backward.ts): the kernels live in grad/. The SIMD mode takes
  // their fast variants, simd: false the TypeScript references those are tested against.

  async conv2dBackwardInput(dy: Tensor, weight: Tensor, inputShape: readonly number[], options: Conv2dOptions): Promise<Tensor> {
    const p = convGradGeometry('conv2dBackwardInput', inputShape, weight.shape, dy.shape, options);
    if (!this.simd) {
      const dx = this.alloc(inputShape);
      conv2dInputGradReference(p, dy.data, weight.data, dx.data);
      return dx;
    }
    const depthwise = p.groups === p.cIn && p.groups === p.cOut;
    // A stride-1 conv's dx is the forward conv of dy with the weight transposed (in and out
    // channels swapped within each group) and its taps flipped, padded so that every output that
    // read an input position is in its window: the forward kernels (depthwise SIMD, Winograd for
    // 3x3) run it. 3x3 64->192 24x24 b32, 1 thread: 242 ms as col2im, 70 ms so.
    const full = fullPadding(p, options);
    if (full && (depthwise || p.kH * p.kW > 1)) return this.conv2d(dy, transposedFlipped(weight, p.groups), null, { padding: full, groups: p.groups });
    const dx = this.alloc(inputShape, this.sharesConvGrad(p));
    const total = depthwise ? p.n * p.cIn : inputGradTaskCount(p);
    await this.runConvGrad({ part: depthwise ? 'depthwiseInput' : 'input', plan: p, a: dy.data, b: weight.data, out: dx.data, pixels: 0, fma: this.fma }, total);
    return dx;
  }

  async conv2dBackwardWeight(x: Tensor, dy: Tensor, weightShape: readonly number[], options: Conv2dOptions): Promise<Tensor> {
    const p = convGradGeometry('conv2dBackwardWeight', x.shape, weightShape, dy.shape, options);
    if (!this.simd) {
      const dw = this.alloc(weightShape);
      conv2dWeightGradReference(p, x.data, dy.data, dw.data);
      return dw;
    }
    const threaded = this.sharesConvGrad(p);
    if (p.groups === p.cIn && p.groups === p.cOut) {
      const dw = this.alloc(weightShape, threaded);
      await this.runConvGrad({ part: 'depthwiseWeight', plan: p, a: x.data, b: dy.data, out: dw.data, pixels: 0, fma: this.fma }, p.cIn);
      return dw;
    }
    // Each task sums its run of pixels into a partial of its own; the partials are added here.
    const { tasks, pixels } = weightGradTasks(p, threaded ? 4 * this.threads : 1);
    const partials = this.alloc([tasks * weightGradPartialLength(p)], threaded);
    await this.runConvGrad({ part: 'weight', plan: p, a: x.data, b: dy.data, out: partials.data, pixels, fma: this.fma }, tasks);
    const dw = this.alloc(weightShape);
    sumWeightGradPartials(p, partials.data, tasks, dw.data);
    this.release(partials);
    return dw;
  }

  /**
   * Whether a conv backward of this size is shared between threads: as the forward conv of the
   * same MACs. Depthwise backward (TypeScript loops, ~16x the time per MAC of the GEMM) gets no
   * lower threshold: shared at batch 32 its inputs' copies to shared memory cost more than the
   * second thread saves (`npm run bench -- --only backward-mfn-dw`: dW 46 -> 228 ms, 2-core VM).
   */
  private sharesConvGrad(p: ConvGeometry): boolean {
    return this.shareable() && p.n * p.cOut * p.outH * p.outW * (p.cIn / p.groups) * p.kH * p.kW >= this.shareFromMacs;
  }

  /**
   * Tasks [0, total) of a conv backward kernel, shared with the workers where sharesConvGrad says
   * so (then `out` must be shared memory). Inputs are copied to shared memory per call, never
   * cached: training changes weights in place between steps.
   */
  private async runConvGrad(job: Omit<ConvGradJob, 'id' | 'kind'>, total: number): Promise<void> {
    if (!isSharedMemory(job.out.buffer)) {
      runConvGradTasks(job, 0, total);
      return;
    }
    const a = new Tensor([job.a.length], job.a);
    const b = new Tensor([job.b.length], job.b);
    await this.onShared(a, (as) => this.onShared(b, (bs) => {
      const shared = { ...job, a: as, b: bs };
      return this.getPool().run({ kind: 'convGrad', ...shared }, total, (from, to) => runConvGradTasks(shared, from, to));
    }));
  }

  async sumChannels(dy: Tensor): Promise<Tensor> {
    if (dy.rank < 2) throw new ShapeError('sumChannels', 'expected [N, C, ...]', [dy.shape]);
    const out = this.alloc([dy.shape[1]]);
    (this.simd ? grad.sumChannelsUnrolled : grad.sumChannels)(dy.data, dy.shape[0], dy.shape[1], shapeSize(dy.shape.slice(2)), out.data);
    return out;
  }

  async reluBackward(y: Tensor, dy: Tensor): Promise<Tensor> {
    sameShapes('reluBackward', y, dy);
    const dx = this.alloc(y.shape);
    (this.simd ? grad.simdReluBackward : grad.reluBackward)(y.data, dy.data, dx.data);
    return dx;
  }

  async preluBackward(x: Tensor, alpha: Tensor, dy: Tensor): Promise<{ dx: Tensor; dAlpha: Tensor }> {
    sameShapes('preluBackward', x, dy);
    const c = x.rank >= 2 ? x.shape[1] : 1;
    if (alpha.size !== c) throw new ShapeError('preluBackward', `alpha must hold one value per channel (${c})`, [x.shape, alpha.shape]);
    const dx = this.alloc(x.shape);
    const dAlpha = this.alloc(alpha.shape);
    (this.simd ? grad.simdPreluBackward : grad.preluBackward)(x.data, alpha.data, dy.data, x.shape[0] * c, c, x.rank > 2 ? shapeSize(x.shape.slice(2)) : 1, dx.data, dAlpha.data);
    return { dx, dAlpha };
  }

  async maxPool2dBackward(x: Tensor, dy: Tensor, options: Pool2dOptions): Promise<Tensor> {
    const g = poolGradGeometry('maxPool2dBackward', x.shape, dy.shape, options);
    const dx = this.alloc(x.shape);
    (this.simd ? grad.maxPool2dBackwardRows : grad.maxPool2dBackward)(g, x.data, dy.data, dx.data);
    return dx;
  }

  async avgPool2dBackward(dy: Tensor, inputShape: readonly number[], options: Pool2dOptions): Promise<Tensor> {
    const g = poolGradGeometry('avgPool2dBackward', inputShape, dy.shape, options);
    const dx = this.alloc(inputShape);
    grad.avgPool2dBackward(g, dy.data, options.countIncludePad ?? true, dx.data);
    return dx;
  }

  async l2Pool2dBackward(x: Tensor, y: Tensor, dy: Tensor, options: Pool2dOptions): Promise<Tensor> {
    const g = poolGradGeometry('l2Pool2dBackward', x.shape, dy.shape, options);
    sameShapes('l2Pool2dBackward', y, dy);
    const dx = this.alloc(x.shape);
    grad.l2Pool2dBackward(g, x.data, y.data, dy.data, dx.data);
    return dx;
  }

  async lrnBackward(x: Tensor, y: Tensor, dy: Tensor, o: LrnOptions): Promise<Tensor> {
    const [n, c, h, w] = x.nchw('lrnBackward');
    sameShapes('lrnBackward', x, y, dy);
    const dx = this.alloc(x.shape);
    (this.simd ? grad.simdLrnBackward : grad.lrnBackward)(x.data, y.data, dy.data, n, c, h * w, o.size, o.alpha, o.beta, o.k, dx.data);
    return dx;
  }

  async batchStats(x: Tensor): Promise<BatchStats> {
    if (x.rank < 2) throw new ShapeError('batchStats', 'expected [N, C, ...]', [x.shape]);
    const c = x.shape[1];
    const mean = this.alloc([c]);
    const variance = this.alloc([c]);
    (this.simd ? grad.batchStatsUnrolled : grad.batchStats)(x.data, x.shape[0], c, shapeSize(x.shape.slice(2)), mean.data, variance.data);
    return { mean, variance };
  }

  async batchNormBackward(x: Tensor, dy: Tensor, p: BatchNormBackwardParams): Promise<{ dx: Tensor; dGamma: Tensor; dBeta: Tensor }> {
    sameShapes('batchNormBackward', x, dy);
    const c = x.shape[1];
    for (const t of [p.gamma, p.mean, p.variance]) {
      if (t.size !== c) throw new ShapeError('batchNormBackward', `parameters must hold ${c} values`, [x.shape, t.shape]);
    }
    const dx = this.alloc(x.shape);
    const dGamma = this.alloc([c]);
    const dBeta = this.alloc([c]);
    (this.simd ? grad.batchNormBackwardUnrolled : grad.batchNormBackward)(x.data, dy.data, x.shape[0], c, shapeSize(x.shape.slice(2)), p.gamma.data, p.mean.data, p.variance.data, p.eps, p.training,
      dx.data, dGamma.data, dBeta.data);
    return { dx, dGamma, dBeta };
  }

  async denseBackwardInput(dy: Tensor, weight: Tensor): Promise<Tensor> {
    const [n, o] = dy.shape;
    if (dy.rank !== 2 || weight.rank !== 2 || weight.shape[0] !== o) throw new ShapeError('denseBackwardInput', 'dy must be [N, O] and weight [O, F]', [dy.shape, weight.shape]);
    const f = weight.shape[1];
    const dx = this.alloc([n, f]);
    grad.denseInputGrad(dy.data, weight.data, n, f, o, dx.data);
    return dx;
  }

  async denseBackwardWeight(x: Tensor, dy: Tensor): Promise<Tensor> {
    const [n, o] = dy.shape;
    if (dy.rank !== 2 || x.shape[0] !== n) throw new ShapeError('denseBackwardWeight', 'dy must be [N, O] for x of N items', [x.shape, dy.shape]);
    const f = x.size / Math.max(n, 1);
    const dw = this.alloc([o, f]);
    grad.denseWeightGrad(x.data, dy.data, n, f, o, dw.data);
    return dw;
  }

  async softmaxBackward(y: Tensor, dy: Tensor): Promise<Tensor> {
    sameShapes('softmaxBackward', y, dy);
    const dx = this.alloc(y.shape);
    grad.softmaxBackward(y.data, dy.data, y.shape[0], y.shape[1], y.rank > 2 ? shapeSize(y.shape.slice(2)) : 1, dx.data);
    return dx;
  }

  async l2NormalizeBackward(x: Tensor, y: Tensor, dy: Tensor, eps = 1e-12): Promise<Tensor> {
    sameShapes('l2NormalizeBackward', x, y, dy);
    const dx = this.alloc(x.shape);
    grad.l2NormalizeBackward(x.data, y.data, dy.data, x.shape[0], x.shape[1], x.rank > 2 ? shapeSize(x.shape.slice(2)) : 1, eps, dx.data);
    return dx;
  }

  async sliceChannels(x: Tensor, from: number, count: number): Promise<Tensor> {
    checkSlice(x, from, count);
    const c = x.shape[1];
    const out = this.alloc([x.shape[0], count, ...x.shape.slice(2)]);
    grad.sliceChannels(x.data, x.shape[0], c, x.rank > 2 ? shapeSize(x.shape.slice(2)) : 1, from, count, out.data);
    return out;
  }

  async crop2d(dy: Tensor, p: Padding): Promise<Tensor> {
    const [outH, outW] = croppedSize(dy, p);
    const [n, c] = dy.shape;
    const [top, bottom, left, right] = p;
    const out = this.alloc([n, c, outH, outW]);
    grad.crop2d(dy.data, n * c, outH, outW, top, bottom, left, right, out.data);
    return out;
  }
}

/**
 * The padding that makes a stride-1 conv's transpose a forward conv: k - 1 - pad on each side,
 * or null where the conv is strided or a pad reaches past its kernel.
 */
function fullPadding(p: ConvGeometry, options: Conv2dOptions): Padding | null {
  if (p.strideH !== 1 || p.strideW !== 1) return null;
  const [top, bottom, left, right] = padding4(options.padding);
  const full: Padding = [p.kH - 1 - top, p.kH - 1 - bottom, p.kW - 1 - left, p.kW - 1 - right];
  return full.every((v) => v >= 0) ? full : null;
}

/**
 * The weight of a stride-1 conv's transpose: [cOut, cIn/g, kH, kW] -> [cIn, cOut/g, kH, kW], in
 * and out channels swapped within each group, each kernel's taps reversed (rotated 180 degrees).
 */
function transposedFlipped(weight: Tensor, groups: number): Tensor {
  const [cOut, cInG, kH, kW] = weight.shape;
  const taps = kH * kW;
  const mG = cOut / groups;
  const out = new Tensor([cInG * groups, mG, kH, kW]);
  for (let g = 0; g < groups; g++) {
    for (let m = 0; m < mG; m++) {
      for (let c = 0; c < cInG; c++) {
        const src = ((g * mG + m) * cInG + c) * taps;
        const dst = ((g * cInG + c) * mG + m) * taps;
        for (let i = 0; i < taps; i++) out.data[dst + i] = weight.data[src + taps - 1 - i];
      }
    }
  }
  return out;
}
