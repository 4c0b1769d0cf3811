import type { LrnOptions } from './lrnOptions.ts';
import type { Conv2dOptions, Padding, Pool2dOptions } from './geometry.ts';
import type { Tensor } from './tensor.ts';

/** Batch statistics of a batch norm in training mode, per channel. */
export interface BatchStats {
  /** Mean over the batch and spatial positions. */
  mean: Tensor;
  /** Biased variance (divided by the count), the one the forward pass normalises with. */
  variance: Tensor;
}

/** What a batch norm's backward needs besides x and dy. */
export interface BatchNormBackwardParams {
  gamma: Tensor;
  /** The mean and variance the forward pass used: the batch's in training mode, the running ones in eval mode. */
  mean: Tensor;
  variance: Tensor;
  eps: number;
  /**
   * Training mode: mean and variance are functions of x (batch statistics), so dx has the two
   * extra terms of their derivatives. Eval mode: they are constants.
   */
  training: boolean;
}

/**
 * The vector-Jacobian products of the forward ops: given the gradient of a scalar loss with
 * respect to an op's output (dy), the gradient with respect to its inputs and parameters, as
 * torch.autograd computes them. Conventions shared by every backend:
 * - A gradient has the shape of what it is the gradient of.
 * - Forward fused activations are never used in training (the layers record the conv and its
 *   activation as two steps), so the conv backward ops take no activation.
 * - Ops split by what they produce, so a frozen layer asks only for dx and the first trainable
 *   layer only for its parameters' gradients.
 */
export interface BackwardOps {
  /** dL/dx of conv2d (a transposed convolution of dy with the same weight, stride, padding, groups). */
  conv2dBackwardInput(dy: Tensor, weight: Tensor, inputShape: readonly number[], options: Conv2dOptions): Promise<Tensor>;
  /** dL/dweight of conv2d: [cOut, cIn/groups, kH, kW]. */
  conv2dBackwardWeight(x: Tensor, dy: Tensor, weightShape: readonly number[], options: Conv2dOptions): Promise<Tensor>;
  /**
   * Sum over every dimension but 1: [N, C, ...] -> [C]. The gradient of a per-channel bias (conv
   * and dense) and of a batch norm's beta.
   */
  sumChannels(dy: Tensor): Promise<Tensor>;
  /** dL/dx of relu from its output: dy where y > 0, else 0 (torch's threshold_backward). */
  reluBackward(y: Tensor, dy: Tensor): Promise<Tensor>;
  /** PReLU: dx = dy where x > 0 else alpha[c] * dy; dAlpha[c] = sum of x * dy where x <= 0. */
  preluBackward(x: Tensor, alpha: Tensor, dy: Tensor): Promise<{ dx: Tensor; dAlpha: Tensor }>;
  /**
   * Max pooling: each output's gradient goes to the input position that was its maximum; with
   * tied maxima, to the first in the window's row-major order (torch's max_pool2d_with_indices,
   * which replaces the running max only on a strictly greater value); windows that overlap add.
   * Padded cells (-infinity) never win. Ceil mode as in the forward op.
   */
  maxPool2dBackward(x: Tensor, dy: Tensor, options: Pool2dOptions): Promise<Tensor>;
  /** Average pooling: each output's gradient spread evenly over its window's divisor (countIncludePad as forward). */
  avgPool2dBackward(dy: Tensor, inputShape: readonly number[], options: Pool2dOptions): Promise<Tensor>;
  /** L2 pooling y = sqrt(sum x^2): dx = sum over the windows holding x of dy * x / y (0 where y = 0). */
  l2Pool2dBackward(x: Tensor, y: Tensor, dy: Tensor, options: Pool2dOptions): Promise<Tensor>;
  /** Cross-channel LRN (Torch7 form, as the forward op), from its input and output. */
  lrnBackward(x: Tensor, y: Tensor, dy: Tensor, options: LrnOptions): Promise<Tensor>;
  /** Per-channel mean and biased variance over the batch and spatial positions (batch norm, training mode). */
  batchStats(x: Tensor): Promise<BatchStats>;
  /** Batch norm: dx, dGamma, dBeta (see BatchNormBackwardParams.training). */
  batchNormBackward(x: Tensor, dy: Tensor, params: BatchNormBackwardParams): Promise<{ dx: Tensor; dGamma: Tensor; dBeta: Tensor }>;
  /** Fully connected: dx = dy . W, as [N, F] (the layer reshapes it to its input's shape). */
  denseBackwardInput(dy: Tensor, weight: Tensor): Promise<Tensor>;
  /** Fully connected: dW = dy^T . x, [O, F]; x is [N, F] or [N, C, H, W] flattened. */
  denseBackwardWeight(x: Tensor, dy: Tensor): Promise<Tensor>;
  /** Softmax over dimension 1, from its output: dx = y * (dy - sum_c dy * y). */
  softmaxBackward(y: Tensor, dy: Tensor): Promise<Tensor>;
  /**
   * L2 normalisation over dimension 1 from input and output: with s = sum x^2 and r =
   * 1/sqrt(max(s, eps)), dx = r * (dy - y * sum(dy * y)) where s > eps, else r * dy.
   */
  l2NormalizeBackward(x: Tensor, y: Tensor, dy: Tensor, eps?: number): Promise<Tensor>;
  /** Channels [from, from + count) of x: the backward of concat, one slice per branch. */
  sliceChannels(x: Tensor, from: number, count: number): Promise<Tensor>;
  /** The inverse of pad2d: the interior of dy. The backward of zero padding. */
  crop2d(dy: Tensor, padding: Padding): Promise<Tensor>;
}
