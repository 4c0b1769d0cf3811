// The geometry of a conv's backward: checked once, as plain numbers that cross to worker threads.
import { ShapeError } from '../../errors.ts';
import { windowGeometry, type Conv2dOptions } from '../../geometry.ts';
import type { ConvGeometry } from '../conv2d.ts';

/** A conv's sizes as its backward sees them: the forward's geometry, dy shaped as its output. */
export type ConvGrad = ConvGeometry;

/** The geometry of the conv that took `inputShape` to `dyShape` with a weight of `weightShape`; throws where they do not fit. */
export function convGradGeometry(op: string, inputShape: readonly number[], weightShape: readonly number[], dyShape: readonly number[], options: Conv2dOptions): ConvGrad {
  if (weightShape.length !== 4) throw new ShapeError(op, 'weight must be [cOut, cIn/groups, kH, kW]', [weightShape]);
  const [cOut, cInG, kH, kW] = weightShape;
  const groups = options.groups ?? 1;
  const g = windowGeometry(op, inputShape, [kH, kW], options.stride, options.padding, false);
  if (!Number.isInteger(groups) || groups < 1 || cOut % groups !== 0 || cInG * groups !== g.c) {
    throw new ShapeError(op, `input channels ${g.c} and weight do not fit groups=${groups}`, [inputShape, weightShape]);
  }
  const expected = [g.n, cOut, g.outH, g.outW];
  if (dyShape.length !== 4 || dyShape.some((d, i) => d !== expected[i])) {
    throw new ShapeError(op, `dy must be the conv's output shape [${expected.join(', ')}]`, [inputShape, weightShape, dyShape]);
  }
  return {
    n: g.n, cIn: g.c, inH: g.inH, inW: g.inW, cOut, kH, kW, strideH: g.strideH, strideW: g.strideW,
    padTop: g.padTop, padLeft: g.padLeft, outH: g.outH, outW: g.outW, groups,
  };
}
