import type { Conv2dOptions, Padding, Pool2dOptions, Region } from './geometry.ts';
import type { Tensor } from './tensor.ts';
import type { BackwardOps } from './backward.ts';
import type { LrnOptions } from './lrnOptions.ts';

export type { LrnOptions } from './lrnOptions.ts';

export interface BatchNormParams {
  mean: Tensor;
  variance: Tensor;
  gamma: Tensor;
  beta: Tensor;
  eps: number;
}

/**
 * The ops every layer calls and none bypasses. Methods are async because GPU and
 * threaded backends finish later; a synchronous backend simply resolves at once.
 * Inputs are never modified; every op returns a new tensor. Every forward op has its backward
 * (vector-Jacobian product) in BackwardOps, for training.
 */
/**
 * What the pipeline may rely on beyond the ops, so it never asks a backend what class it is and a
 * new backend states these once instead of being special-cased there.
 */
export interface BackendCapabilities {
  /**
   * Tensors are host arrays the ops read in place: the detector may serve P-Net a pyramid level
   * read tile by tile from the 8-bit photo, and crops from an integral image, instead of asking
   * the backend to resize (which a device backend does where its data lives).
   */
  hostTensors: boolean;
  /**
   * 3x3 stride-1 convs run as Winograd F(2x2, 3x3) blocks, so a tile of a P-Net level gives the
   * bits of the whole-level pass only if it starts on an even map cell.
   */
  winogradBlocks: boolean;
  /**
   * The backend builds its kernels for each input shape (gpu.js compiles a plan per shape), so
   * tiles of one shape are cheaper than exact ones even where they overlap more.
   */
  compilesPerShape: boolean;
}

export interface Backend extends BackwardOps {
  readonly name: string;
  /** What really runs (mode, threads): reported so that a fallback is never silent. */
  describe(): BackendReport;
  readonly capabilities: BackendCapabilities;

  conv2d(x: Tensor, weight: Tensor, bias: Tensor | null, options?: Conv2dOptions): Promise<Tensor>;
  relu(x: Tensor): Promise<Tensor>;
  /** Per-channel PReLU: x for x > 0, alpha[c] * x otherwise. */
  prelu(x: Tensor, alpha: Tensor): Promise<Tensor>;
  maxPool2d(x: Tensor, options: Pool2dOptions): Promise<Tensor>;
  avgPool2d(x: Tensor, options: Pool2dOptions): Promise<Tensor>;
  /** LP pooling with p = 2: sqrt of the sum of squares over each window (padding counts as 0). */
  l2Pool2d(x: Tensor, options: Pool2dOptions): Promise<Tensor>;
  /** Cross-channel LRN, Torch7 form x / (k + alpha/size * sum x^2)^beta. */
  lrn(x: Tensor, options: LrnOptions): Promise<Tensor>;
  batchNorm(x: Tensor, params: BatchNormParams): Promise<Tensor>;
  /** x is [N, F] or [N, C, H, W] flattened in C, H, W order; weight is [O, F]. Returns [N, O]. */
  dense(x: Tensor, weight: Tensor, bias: Tensor | null): Promise<Tensor>;
  /** Softmax over dimension 1 (channels), for every batch item and spatial position. */
  softmax(x: Tensor): Promise<Tensor>;
  concat(xs: readonly Tensor[]): Promise<Tensor>;
  add(a: Tensor, b: Tensor): Promise<Tensor>;
  /** x / sqrt(max(sum x^2, eps)) over dimension 1. */
  l2Normalize(x: Tensor, eps?: number): Promise<Tensor>;
  /** Zero padding of the spatial dimensions. */
  pad2d(x: Tensor, padding: Padding): Promise<Tensor>;

  /**
   * Pre-processing: area-resamples each region of an 8-bit RGB (HWC) image to outH x outW and
   * normalises it as MTCNN's input, (v - 127.5) * 0.0078125: a [regions, 3, outH, outW] batch.
   */
  resizeArea(image: { width: number; height: number; data: Uint8Array }, regions: readonly Region[], outH: number, outW: number): Promise<Tensor>;

  /**
   * Optional: runs a whole forward pass as one plan (gpu.js `createPipeline`), reading back only
   * its outputs. `graph` identifies the pass (a net) for caching; `forward` runs it op by op on
   * the backend it is given, which is how the plan is recorded and what runs where no plan can.
   * `rows`, for a fully convolutional graph, says which input rows each output row reads, so a
   * backend may run one large input as bands of rows on several threads.
   */
  runGraph?(graph: object, forward: GraphForward, x: Tensor, rows?: RowGeometry): Promise<Record<string, Tensor>>;

  /**
   * Optional: how many forward passes the backend runs at once when it is given independent
   * ones concurrently (the CPU backend runs whole passes on its worker threads). Callers with
   * independent passes, such as P-Net's pyramid levels, keep that many in flight; without it,
   * one.
   */
  concurrentPasses?(): number;

  /**
   * Optional: `t`, an intermediate of a forward pass, will not be read again, and its memory may
   * back a later output. Containers call it; nothing else holds such a tensor.
   */
  release?(t: Tensor): void;

  /** Releases workers and device memory. */
  dispose(): Promise<void>;
}

export type GraphForward = (backend: Backend, x: Tensor) => Promise<Record<string, Tensor>>;

/**
 * The rows a fully convolutional graph reads: output row r of every head is computed from input
 * rows [stride * r, stride * r + field) and nothing else (no padding), so a band of input rows
 * that starts on a multiple of `stride` gives the output rows it fully covers, as the whole
 * input would.
 */
export interface RowGeometry {
  stride: number;
  field: number;
}

export interface BackendReport {
  backend: string;
  mode: string;
  threads: number;
  /** Set when the backend runs something other than what was asked for, with the reason. */
  fallback?: string;
  /**
   * Why the CPU backend runs on one thread whatever was asked: a page that is not cross-origin
   * isolated has no shared memory for its Web Workers. Absent where threads are possible.
   */
  threadLimit?: string;
  /** How whole nets ran where the backend fuses them: gpu.js pipeline executors ('fused-sync', 'generic'...). */
  executor?: string;
}
