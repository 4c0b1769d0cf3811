// A single item's conv cut by output channels instead of by pixels, where cutting by pixels
// shares badly between threads:
// - a small map (a face net's 12x12 or 6x6 layers on one face) has only one to three pixel
//   chunks, too few tasks to share evenly;
// - where the weights outweigh the input (nn4.small2's 3x3 convs on one face: 786 KB of
//   Winograd weights against 147 KB of input), every thread taking pixels copies all the weights
//   into its kernel memory and streams them through its GEMM, so two threads each move what one
//   did. Cut by channels, each thread moves its own part of the weights and a copy of the input.
// Output channels come in blocks of MR packed weight rows, each block computed alone by the GEMM
// (and by Winograd's 16 GEMMs), so a run of blocks is a conv of its own: the same input, a
// contiguous run of the packed weights (16 runs for Winograd), its own channels of the output.
// Every output is the same sum in the same order as in the whole conv, so the bits are the same.
import { convReduction, convTaskCount, convTasks, type ConvPlan } from './conv2d.ts';
import { MR } from './convPlan.ts';
import { simdFirstConvFits } from './simdFirstConv.ts';
import { simdWinogradTasks } from './simdWinograd.ts';
import { winogradTaskCount, winogradWeightLength } from './winograd.ts';

/** Pixel tasks below which a conv is cut by channels whatever its weights weigh. */
const MIN_TASKS = 4;
/** Output channels of a slice, at least (two blocks of packed rows). */
const MIN_SLICE = 2 * MR;
/**
 * Slices at most. A thread copies the input once per share of consecutive slices it takes
 * (takeShares: about three each on two threads), so more slices mean more copies of the input
 * for finer balance.
 */
const MAX_SLICES = 8;

/**
 * Where to cut `p`'s output channels (slice k is channels [bounds[k], bounds[k + 1]), each start
 * a multiple of MR), or null where the conv keeps its pixel tasks: it has enough of them and its
 * input outweighs its weights, or it is not one item's dense conv on the SIMD GEMM (batches lay
 * channels out per item; the small-map and first-conv kernels have layouts of their own).
 */
export function channelSlices(p: ConvPlan): number[] | null {
  if (!p.simd || p.n !== 1 || p.groups !== 1 || p.items || simdFirstConvFits(p)) return null;
  const weights = p.winograd ? winogradWeightLength(p) : p.cOut * convReduction(p);
  if (convTaskCount(p) >= MIN_TASKS && weights < p.cIn * p.inH * p.inW) return null;
  const count = Math.min(Math.floor(p.cOut / MIN_SLICE), MAX_SLICES);
  if (count < 2) return null;
  const bounds = [0];
  for (let k = 1; k < count; k++) bounds.push(MR * Math.round((k * p.cOut) / count / MR));
  bounds.push(p.cOut);
  return bounds;
}

/** Tasks of a conv cut at `bounds`: one per slice. */
export function convSliceTaskCount(bounds: readonly number[]): number {
  return bounds.length - 1;
}

/**
 * Runs slices [from, to) of `p` cut at `bounds` (channelSlices) as one conv of their channels;
 * `packed` is the whole conv's packed (or Winograd) weights.
 */
export function convSliceTasks(
  p: ConvPlan, bounds: readonly number[], x: Float32Array, packed: Float32Array, bias: Float32Array | null, out: Float32Array,
  scratch: Float32Array, alpha: Float32Array | null, from: number, to: number,
): void {
  const c0 = bounds[from];
  const c1 = bounds[to];
  const hw = p.outH * p.outW;
  const part: ConvPlan = { ...p, cOut: c1 - c0 };
  const partBias = bias && bias.subarray(c0, c1);
  const partAlpha = alpha && alpha.subarray(c0, c1);
  const partOut = out.subarray(c0 * hw, c1 * hw);
  if (p.winograd) {
    simdWinogradTasks(part, x, packed, partBias, partOut, partAlpha, 0, winogradTaskCount(part), { first: c0, all: Math.ceil(p.cOut / MR) * MR });
    return;
  }
  const K = convReduction(p);
  convTasks(part, x, packed.subarray(c0 * K, (c0 + Math.ceil((c1 - c0) / MR) * MR) * K), partBias, partOut, scratch, partAlpha, 0, convTaskCount(part));
}
