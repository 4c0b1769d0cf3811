import type { Backend, LrnOptions } from '../tensor/backend.ts';
import type { BatchStats } from '../tensor/backward.ts';
import type { Padding } from '../tensor/geometry.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { LeafLayer, type ForwardContext, type LeafGrads, type LeafNeeds, type ParamSpec } from './layer.ts';

/** Cross-channel local response normalisation (Torch7 SpatialCrossMapLRN). */
export class LRN extends LeafLayer {
  readonly op = 'lrn';
  constructor(name: string, readonly options: LrnOptions) {
    super(name);
  }
  protected run(backend: Backend, x: Tensor): Promise<Tensor> {
    return backend.lrn(x, this.options);
  }
  protected override async backward(backend: Backend, x: Tensor, y: Tensor, dy: Tensor, needs: LeafNeeds): Promise<LeafGrads> {
    return { dx: needs.dx ? await backend.lrnBackward(x, y, dy, this.options) : undefined };
  }
  outputShape(input: readonly number[]): number[] {
    return [...input];
  }
  protected override detail(): string {
    return `size ${this.options.size}`;
  }
}

/**
 * Batch norm: parameters weight (gamma) and bias (beta); buffers mean and variance (not std), the
 * running statistics. In training mode it normalises with the batch's statistics and moves the
 * running ones towards them as PyTorch does (momentum 0.1, unbiased variance); otherwise it
 * normalises with the running ones.
 */
export class BatchNorm extends LeafLayer {
  readonly op = 'batchNorm';
  constructor(name: string, readonly channels: number, readonly eps = 1e-5, readonly momentum = 0.1) {
    super(name);
  }
  override get paramSpecs(): ParamSpec[] {
    return [
      { name: 'weight', shape: [this.channels] }, { name: 'bias', shape: [this.channels] },
      { name: 'mean', shape: [this.channels], buffer: true }, { name: 'variance', shape: [this.channels], buffer: true },
    ];
  }
  protected run(backend: Backend, x: Tensor): Promise<Tensor> {
    return this.normalise(backend, x, { mean: this.param('mean'), variance: this.param('variance') });
  }
  private normalise(backend: Backend, x: Tensor, stats: BatchStats): Promise<Tensor> {
    return backend.batchNorm(x, { gamma: this.param('weight'), beta: this.param('bias'), mean: stats.mean, variance: stats.variance, eps: this.eps });
  }

  protected override async runRecorded(ctx: ForwardContext, x: Tensor, label: string): Promise<Tensor> {
    // Eval mode: the running statistics are constants, as in any other layer.
    const stats: BatchStats = ctx.training ? await ctx.backend.batchStats(x) : { mean: this.param('mean'), variance: this.param('variance') };
    const y = await this.normalise(ctx.backend, x, stats);
    if (ctx.training) this.updateRunningStats(stats, x.size / this.channels);
    this.recordStep(ctx, label, x, y, async (backend, dy) => {
      const g = await backend.batchNormBackward(x, dy, { gamma: this.param('weight'), ...stats, eps: this.eps, training: ctx.training ?? false });
      return { dx: g.dx, params: { weight: g.dGamma, bias: g.dBeta } };
    });
    return y;
  }

  /** In place, in double rounded once to float32 as PyTorch's CPU kernel; the variance unbiased (count / (count - 1)). */
  private updateRunningStats(batch: BatchStats, count: number): void {
    const m = this.momentum;
    const mean = this.param('mean').data;
    const variance = this.param('variance').data;
    const unbias = count > 1 ? count / (count - 1) : 1;
    for (let c = 0; c < this.channels; c++) {
      mean[c] = m * batch.mean.data[c] + (1 - m) * mean[c];
      variance[c] = m * batch.variance.data[c] * unbias + (1 - m) * variance[c];
    }
  }
  outputShape(input: readonly number[]): number[] {
    return [...input];
  }
}

export class L2Normalize extends LeafLayer {
  readonly op = 'l2Normalize';
  protected run(backend: Backend, x: Tensor): Promise<Tensor> {
    return backend.l2Normalize(x);
  }
  protected override async backward(backend: Backend, x: Tensor, y: Tensor, dy: Tensor, needs: LeafNeeds): Promise<LeafGrads> {
    return { dx: needs.dx ? await backend.l2NormalizeBackward(x, y, dy) : undefined };
  }
  outputShape(input: readonly number[]): number[] {
    return [...input];
  }
}

/** Zero padding of the spatial dimensions: [top, bottom, left, right]. */
export class ZeroPad2d extends LeafLayer {
  readonly op = 'pad2d';
  constructor(name: string, readonly padding: Padding) {
    super(name);
  }
  protected run(backend: Backend, x: Tensor): Promise<Tensor> {
    return backend.pad2d(x, this.padding);
  }
  protected override async backward(backend: Backend, _x: Tensor, _y: Tensor, dy: Tensor, needs: LeafNeeds): Promise<LeafGrads> {
    return { dx: needs.dx ? await backend.crop2d(dy, this.padding) : undefined };
  }
  outputShape(input: readonly number[]): number[] {
    const [t, b, l, r] = this.padding;
    return [input[0], input[1] + t + b, input[2] + l + r];
  }
  protected override detail(): string {
    return this.padding.join(',');
  }
}
