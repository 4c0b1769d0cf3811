// The arguments of the backward ops (BackwardOps in backward.ts), checked once for every backend:
// each gradient must have the shape of what the forward op made, and the geometry a backend's
// kernels need comes out as plain numbers.
import { ShapeError } from '../errors.ts';
import { pair, windowGeometry, type Conv2dOptions, type ConvGeometry, type Padding, type Pool2dOptions, type Window2d } from './geometry.ts';
import { sameShape, type Tensor } from './tensor.ts';

/** The geometry of the conv that took `inputShape` to `dyShape` with a weight of `weightShape`; throws where they do not fit. */
export function convGradGeometry(op: string, inputShape: readonly number[], weightShape: readonly number[], dyShape: readonly number[], options: Conv2dOptions): ConvGeometry {
  if (weightShape.length !== 4) throw new ShapeError(op, 'weight must be [cOut, cIn/groups, kH, kW]', [weightShape]);
  const [cOut, cInG, kH, kW] = weightShape;
  const groups = options.groups ?? 1;
  const g = windowGeometry(op, inputShape, [kH, kW], options.stride, options.padding, false);
  if (!Number.isInteger(groups) || groups < 1 || cOut % groups !== 0 || cInG * groups !== g.c) {
    throw new ShapeError(op, `input channels ${g.c} and weight do not fit groups=${groups}`, [inputShape, weightShape]);
  }
  const expected = [g.n, cOut, g.outH, g.outW];
  if (!sameShape(dyShape, expected)) {
    throw new ShapeError(op, `dy must be the conv's output shape [${expected.join(', ')}]`, [inputShape, weightShape, dyShape]);
  }
  return {
    n: g.n, cIn: g.c, inH: g.inH, inW: g.inW, cOut, kH, kW, strideH: g.strideH, strideW: g.strideW,
    padTop: g.padTop, padLeft: g.padLeft, outH: g.outH, outW: g.outW, groups,
  };
}

/** The forward pool's windows over `inputShape`, with dy checked against its output. */
export function poolGradGeometry(op: string, inputShape: readonly number[], dyShape: readonly number[], o: Pool2dOptions): Window2d {
  const g = windowGeometry(op, inputShape, pair(o.kernel, 1), o.stride ?? o.kernel, o.padding, o.ceilMode ?? false);
  if (!sameShape(dyShape, [g.n, g.c, g.outH, g.outW])) throw new ShapeError(op, `dy must be the pool's output [${g.n}, ${g.c}, ${g.outH}, ${g.outW}]`, [inputShape, dyShape]);
  return g;
}

/** Throws unless every tensor has the first one's shape. */
export function sameShapes(op: string, first: Tensor, ...rest: Tensor[]): void {
  for (const t of rest) if (!sameShape(first.shape, t.shape)) throw new ShapeError(op, 'shapes differ', [first.shape, t.shape]);
}

/** Throws unless channels [from, from + count) lie within x's. */
export function checkSlice(x: Tensor, from: number, count: number): void {
  const c = x.rank >= 2 ? x.shape[1] : 0;
  if (!Number.isInteger(from) || !Number.isInteger(count) || from < 0 || count < 0 || from + count > c) {
    throw new ShapeError('sliceChannels', `channels [${from}, ${from + count}) are not within ${c}`, [x.shape]);
  }
}

/** The height and width of dy's interior once `padding` is cut away; throws where it does not fit. */
export function croppedSize(dy: Tensor, padding: Padding): [number, number] {
  const [, , h, w] = dy.nchw('crop2d');
  const [top, bottom, left, right] = padding;
  if (padding.some((v) => !Number.isInteger(v) || v < 0) || top + bottom > h || left + right > w) {
    throw new ShapeError('crop2d', `padding [${padding.join(', ')}] does not fit the map`, [dy.shape]);
  }
  return [h - top - bottom, w - left - right];
}
