// The messages the CPU backend's thread pool sends its workers: a share of a kernel's tasks,
// or a recorded pass to replay. Types only, so the pool and the worker share them without importing each other.
import type { Window2d } from '../geometry.ts';
import type { ConvPlan } from './convPlan.ts';
import type { ConvGradJob } from './grad/convGradJob.ts';
import type { Tape } from './passTape.ts';

export interface ConvJob {
  id: number;
  kind: 'conv' | 'depthwise';
  plan: ConvPlan;
  x: Float32Array;
  weights: Float32Array;
  bias: Float32Array | null;
  alpha: Float32Array | null;
  out: Float32Array;
}

/** One item's conv cut by output channels (convSlices.ts): a task is a slice. */
export interface ConvSlicesJob {
  id: number;
  kind: 'convSlices';
  plan: ConvPlan;
  /** Where the output channels are cut (channelSlices). */
  bounds: number[];
  x: Float32Array;
  weights: Float32Array;
  bias: Float32Array | null;
  alpha: Float32Array | null;
  out: Float32Array;
}

/** Max pooling of planes, shared out like a conv's tasks. */
export interface MaxPoolJob {
  id: number;
  kind: 'maxPool';
  window: Window2d;
  x: Float32Array;
  out: Float32Array;
}

/** Softmax over channels of positions (item, pixel), shared out like a conv's tasks. */
export interface SoftmaxJob {
  id: number;
  kind: 'softmax';
  x: Float32Array;
  out: Float32Array;
  n: number;
  c: number;
  plane: number;
  rows: boolean;
  /** false: the TypeScript reference (CpuBackendOptions.simd). */
  simd: boolean;
}

/** A fully connected layer, shared out by groups of batch items (simdDense.ts). */
export interface DenseJob {
  id: number;
  kind: 'dense';
  x: Float32Array;
  /** Weight rows packed by packedDenseRows. */
  weights: Float32Array;
  bias: Float32Array | null;
  n: number;
  f: number;
  o: number;
  out: Float32Array;
  /** The relaxed-SIMD GEMM (CpuBackendOptions.fma). */
  fma: boolean;
}

/** How a job's tasks are shared out (see takeShares): filled in by the pool. */
export interface Sharing {
  counter: Int32Array;
  grain: number;
  spread: number;
  total: number;
}

export type Job = (ConvJob | ConvSlicesJob | MaxPoolJob | SoftmaxJob | DenseJob | ConvGradJob) & Sharing;

/** A net's recorded pass, sent once before the first PassJob that replays it. */
export interface TapeMessage {
  kind: 'tape';
  tapeId: number;
  tape: Tape;
  constants: { shape: number[]; data: Float32Array }[];
  simd: boolean;
  winograd: boolean;
  winogradTile: 2 | 4;
  fma: boolean;
  poolInConv: boolean;
  firstConv: boolean;
}

/**
 * A whole forward pass of a recorded net on this worker alone. `x` is transferred, not copied,
 * where it owns its buffer; the reply's result is a PassResult.
 */
export interface PassJob {
  id: number;
  kind: 'pass';
  tapeId: number;
  x: Float32Array;
  shape: number[];
  /** Buffers moved to the worker for its pool: the caller's spares, for the outputs. */
  spares: ArrayBuffer[];
}

/**
 * A pass's outputs, in buffers transferred to the caller, and the input's buffer handed back
 * (when it was transferred) for the caller's pool: a pass on a worker then leaves no garbage
 * buffers on either thread, which at 12 megapixels was up to 100 MB awaiting collection.
 */
export interface PassResult {
  outputs: Record<string, { shape: number[]; data: Float32Array }>;
  input: ArrayBuffer | null;
}

/** Compiled kernel modules for the worker to use instead of compiling its own (wasm.ts). */
export interface ModulesMessage {
  kind: 'modules';
  modules: [string, WebAssembly.Module][];
}
