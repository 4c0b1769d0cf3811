// What every CPU conv kernel shares: the plan, the micro-kernel's tile and the task geometry.
// The kernels (conv2d.ts, simdConv.ts, simdFirstConv.ts, winograd.ts, ...) import this and conv2d.ts
// dispatches to them, so none of them imports conv2d.ts back.
import type { ConvGeometry, Window2d } from '../geometry.ts';

/** Everything a conv kernel needs. */
export interface ConvPlan extends ConvGeometry {
  /** Output pixels unrolled at once: a multiple of 4 sized so the panel fits in L1/L2. */
  chunk: number;
  /** 0: none, 1: ReLU, 2: PReLU with per-output-channel slopes. */
  activation: 0 | 1 | 2;
  /** The GEMM runs as the WebAssembly SIMD kernel (simdGemm.ts) rather than generated TypeScript. */
  simd: boolean;
  /**
   * Runs as Winograd F(m x m, 3x3) on the SIMD kernels (winograd.ts): tasks are groups of m x m
   * output tiles and the weights are winogradWeights' transformed ones, not packConvWeights'.
   */
  winograd?: boolean;
  /** The Winograd output block side m: 2 (F(2x2, 3x3)) where absent, or 4 (F(4x4, 3x3)). */
  winogradTile?: 2 | 4;
  /** The SIMD GEMMs (direct and Winograd) accumulate with relaxed SIMD's multiply-add (CpuBackendOptions.fma). */
  fma?: boolean;
  /**
   * Batch items whose output pixels share one GEMM (smallMapItems): tasks are runs of this many
   * items rather than (item, group, chunk). 0 or absent: one item per task.
   */
  items?: number;
  /**
   * The packed (or Winograd) weights handed to the kernels are never written again once made
   * (the backend's caches make new arrays when parameters change), so each thread's kernel
   * memory keeps a copy of each weight buffer it has seen (weightResidency.ts) instead of copying
   * the weights in at every call.
   */
  residentWeights?: boolean;
  /**
   * Max pooling of the activated output, done where the kernel leaves it (simdFirstConv.ts, for
   * the convs simdFirstConvFits): the result is the pooled map, and tasks are (batch item, band of
   * pooled rows). Its geometry's input is the conv's output.
   */
  pool?: Window2d;
  /** False: 3-channel convs stay on im2col + GEMM (CpuBackendOptions.firstConv); absent or true, simdFirstConvFits decides. */
  firstConv?: boolean;
}

/** Rows of the weight matrix handled together by the micro-kernel. */
export const MR = 4;
/** Output pixels handled together by the micro-kernel. */
export const NR = 4;

export function convReduction(p: ConvPlan): number {
  return (p.cIn / p.groups) * p.kH * p.kW;
}

/** Pixels per im2col chunk: about 96 KB of panel (L2-resident), in whole pairs of panels (the SIMD kernel's 8-pixel tile). */
export function chunkFor(reduction: number): number {
  const pixels = Math.floor(24576 / reduction / (2 * NR)) * 2 * NR;
  return Math.max(NR * 4, Math.min(pixels, 1024));
}

export function isDepthwise(p: ConvPlan): boolean {
  return p.groups === p.cIn && p.groups === p.cOut;
}

/**
 * Weights [cOut, cIn/g, kH, kW] rearranged per group into blocks of MR output channels,
 * reduction index outermost inside a block, so the micro-kernel reads them sequentially.
 * Rows past cOut/g are zero.
 */
export function packConvWeights(p: ConvPlan, w: Float32Array, into?: Float32Array): Float32Array {
  const K = convReduction(p);
  const mG = p.cOut / p.groups;
  const blocks = Math.ceil(mG / MR);
  const packed = into ?? new Float32Array(p.groups * blocks * K * MR);
  for (let g = 0; g < p.groups; g++) {
    for (let m = 0; m < mG; m++) {
      const src = (g * mG + m) * K;
      const dst = (g * blocks + Math.floor(m / MR)) * K * MR + (m % MR);
      for (let k = 0; k < K; k++) packed[dst + k * MR] = w[src + k];
    }
  }
  return packed;
}

export function packedWeightLength(p: ConvPlan): number {
  return p.groups * Math.ceil(p.cOut / p.groups / MR) * convReduction(p) * MR;
}

/** The sizes every conv task loop works with. */
export function convSizes(p: ConvPlan): { K: number; cInG: number; mG: number; blocks: number; hw: number } {
  const mG = p.cOut / p.groups;
  return { K: convReduction(p), cInG: p.cIn / p.groups, mG, blocks: Math.ceil(mG / MR), hw: p.outH * p.outW };
}

/** Task t: batch item b, group g, output pixels [j0, j1) (tasks run chunk-fastest). */
export function convTask(p: ConvPlan, t: number): { b: number; g: number; j0: number; j1: number } {
  const hw = p.outH * p.outW;
  const chunks = Math.ceil(hw / p.chunk);
  const j0 = (t % chunks) * p.chunk;
  return { b: Math.floor(t / (chunks * p.groups)), g: Math.floor(t / chunks) % p.groups, j0, j1: Math.min(hw, j0 + p.chunk) };
}
