import type { BatchNormParams } from './backend.ts';
import { ShapeError } from '../errors.ts';
import { Tensor } from './tensor.ts';

/**
 * Folds an inference batch norm into the convolution before it:
 * bn(conv(x)) = conv'(x) with w' = w * s and b' = (b - mean) * s + beta, s = gamma / sqrt(var + eps).
 * Computed in float64 and rounded once, so the folded net differs from the unfolded one only
 * by float32 rounding of the products.
 */
export function foldBatchNorm(weight: Tensor, bias: Tensor | null, bn: BatchNormParams): { weight: Tensor; bias: Tensor } {
  const out = weight.shape[0];
  for (const t of [bn.mean, bn.variance, bn.gamma, bn.beta]) {
    if (t.size !== out) throw new ShapeError('foldBatchNorm', `batch norm must hold ${out} values`, [weight.shape, t.shape]);
  }
  if (bias && bias.size !== out) throw new ShapeError('foldBatchNorm', `bias must hold ${out} values`, [weight.shape, bias.shape]);
  const per = weight.size / out;
  const w = new Float32Array(weight.size);
  const b = new Float32Array(out);
  for (let o = 0; o < out; o++) {
    const s = bn.gamma.data[o] / Math.sqrt(bn.variance.data[o] + bn.eps);
    for (let i = 0; i < per; i++) w[o * per + i] = weight.data[o * per + i] * s;
    b[o] = ((bias ? bias.data[o] : 0) - bn.mean.data[o]) * s + bn.beta.data[o];
  }
  return { weight: new Tensor(weight.shape, w), bias: new Tensor([out], b) };
}
