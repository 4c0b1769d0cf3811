// A single item's conv cut by output channels as well as by pixels. A small map (a face net's
// 12x12 or 6x6 layers on one face) has only one to three pixel chunks, too few tasks to share
// between threads evenly; its output channels come in blocks of MR packed weight rows, each
// block computed alone by the GEMM, so a run of blocks is a conv of its own: the same weights
// (a contiguous run of the packed ones), the same input, its own channels of the output. Every
// output is the same sum in the same order as in the whole conv, so the bits are the same.
import { convReduction, convTaskCount, convTasks, type ConvPlan } from './conv2d.ts';
import { MR } from './convPlan.ts';
import { simdFirstConvFits } from './simdFirstConv.ts';

/**
 * Tasks at least, a conv is cut into channel slices to have: every slice copies the whole input
 * into its thread's kernel memory (a pixel chunk copies only its band of rows), so a few slices
 * only, enough for two threads to share a one- or three-chunk conv.
 */
const MIN_TASKS = 4;
/** Output channels of a slice, at least (two blocks of packed rows). */
const MIN_SLICE = 2 * MR;

/**
 * Where to cut `p`'s output channels (slice k is channels [bounds[k], bounds[k + 1]), each start
 * a multiple of MR), or null where the conv keeps its own tasks: it has enough of them, or it
 * is not one item's dense direct GEMM (batches lay channels out per item; Winograd and the
 * small-map and first-conv kernels have layouts of their own).
 */
export function channelSlices(p: ConvPlan): number[] | null {
  if (!p.simd || p.n !== 1 || p.groups !== 1 || p.winograd || p.items || simdFirstConvFits(p)) return null;
  const tasks = convTaskCount(p);
  if (tasks >= MIN_TASKS) return null;
  const count = Math.min(Math.floor(p.cOut / MIN_SLICE), Math.ceil(MIN_TASKS / tasks));
  if (count < 2) return null;
  const bounds = [0];
  for (let k = 1; k < count; k++) bounds.push(MR * Math.round((k * p.cOut) / count / MR));
  bounds.push(p.cOut);
  return bounds;
}

/** Tasks of a conv cut at `bounds`: every pixel task of slice 0, then of slice 1, ... */
export function convSliceTaskCount(p: ConvPlan, bounds: readonly number[]): number {
  return (bounds.length - 1) * convTaskCount(p);
}

/** Runs tasks [from, to) of `p` cut at `bounds` (channelSlices); `packed` is the whole conv's. */
export function convSliceTasks(
  p: ConvPlan, bounds: readonly number[], x: Float32Array, packed: Float32Array, bias: Float32Array | null, out: Float32Array,
  scratch: Float32Array, alpha: Float32Array | null, from: number, to: number,
): void {
  const per = convTaskCount(p);
  const K = convReduction(p);
  const hw = p.outH * p.outW;
  for (let t = from; t < to; ) {
    const s = Math.floor(t / per);
    const end = Math.min(to, (s + 1) * per);
    const c0 = bounds[s];
    const c1 = bounds[s + 1];
    const slice: ConvPlan = { ...p, cOut: c1 - c0 };
    convTasks(slice, x, packed.subarray(c0 * K, (c0 + Math.ceil((c1 - c0) / MR) * MR) * K), bias && bias.subarray(c0, c1),
      out.subarray(c0 * hw, c1 * hw), scratch, alpha && alpha.subarray(c0, c1), t - s * per, end - s * per);
    t = end;
  }
}
