import { ArgumentError, ShapeError } from '../errors.ts';
import type { Tensor } from './tensor.ts';

/** An activation a convolution may apply to its output in the same pass. */
export type FusedActivation = { kind: 'relu' } | { kind: 'prelu'; alpha: Tensor };

/** Zero padding on each side: top, bottom, left, right. */
export type Padding = readonly [number, number, number, number];

export interface Conv2dOptions {
  stride?: number | readonly [number, number];
  /** A number pads all four sides; [top, bottom, left, right] pads asymmetrically. */
  padding?: number | Padding;
  groups?: number;
  /** Applied to each output value (after the bias) before it is stored. */
  activation?: FusedActivation;
  /**
   * The output feeds a pass that is differentiated (Net.forwardRecorded): the backend uses its
   * most exact fast algorithm, since gradients amplify the forward pass's rounding. The CPU
   * backend then keeps Winograd convs to F(2x2, 3x3) blocks.
   */
  exact?: boolean;
  /**
   * Max pooling applied to the (activated) output: the result is maxPool2d's of the conv's
   * output, value for value. A backend may pool each part of the output while it still holds it.
   */
  maxPool?: Pool2dOptions;
}

export interface Pool2dOptions {
  kernel: number | readonly [number, number];
  stride?: number | readonly [number, number];
  padding?: number | Padding;
  /** Caffe/PyTorch ceil mode: a last window may hang over the bottom/right edge. */
  ceilMode?: boolean;
  /** Average pooling only: divide by the window size including padded cells (PyTorch default). */
  countIncludePad?: boolean;
}

/** A conv's sizes (x: [n, cIn, inH, inW], w: [cOut, cIn/groups, kH, kW], y: [n, cOut, outH, outW]), as plain numbers that cross to worker threads. */
export interface ConvGeometry {
  n: number;
  cIn: number;
  inH: number;
  inW: number;
  cOut: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
  outH: number;
  outW: number;
  groups: number;
}

/** Every number a conv or pool kernel needs, computed once so that backends only do arithmetic. */
export interface Window2d {
  n: number;
  c: number;
  inH: number;
  inW: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padBottom: number;
  padLeft: number;
  padRight: number;
  outH: number;
  outW: number;
}

export function pair(v: number | readonly [number, number] | undefined, fallback: number): [number, number] {
  if (v === undefined) return [fallback, fallback];
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

export function padding4(p: number | Padding | undefined): [number, number, number, number] {
  if (p === undefined) return [0, 0, 0, 0];
  return typeof p === 'number' ? [p, p, p, p] : [p[0], p[1], p[2], p[3]];
}

function positiveInts(op: string, values: Record<string, number>, min: number): void {
  for (const [k, v] of Object.entries(values)) {
    if (!Number.isInteger(v) || v < min) throw new ArgumentError(`${op}: ${k} must be an integer >= ${min}, got ${v}`);
  }
}

/** Output size of one spatial dimension; ceil mode follows PyTorch (a window must start inside input + left pad). */
export function pooledSize(size: number, k: number, stride: number, padBefore: number, padAfter: number, ceil: boolean): number {
  const span = size + padBefore + padAfter - k;
  if (span < 0) return 0;
  let out = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  if (ceil && (out - 1) * stride >= size + padBefore) out -= 1;
  return out;
}

export function windowGeometry(
  op: string,
  shape: readonly number[],
  kernel: readonly [number, number],
  strideV: number | readonly [number, number] | undefined,
  paddingV: number | Padding | undefined,
  ceil: boolean,
): Window2d {
  if (shape.length !== 4) throw new ShapeError(op, 'expected an NCHW tensor of rank 4', [shape]);
  const [n, c, inH, inW] = shape;
  const [kH, kW] = kernel;
  const [strideH, strideW] = pair(strideV, 1);
  const [padTop, padBottom, padLeft, padRight] = padding4(paddingV);
  positiveInts(op, { kH, kW, strideH, strideW }, 1);
  positiveInts(op, { padTop, padBottom, padLeft, padRight }, 0);
  const outH = pooledSize(inH, kH, strideH, padTop, padBottom, ceil);
  const outW = pooledSize(inW, kW, strideW, padLeft, padRight, ceil);
  if (outH < 1 || outW < 1) {
    throw new ShapeError(op, `a ${kH}x${kW} window does not fit the ${inH}x${inW} input with this padding`, [shape]);
  }
  return { n, c, inH, inW, kH, kW, strideH, strideW, padTop, padBottom, padLeft, padRight, outH, outW };
}

/** A rectangle of an image in whole pixels. */
export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}
