import type { Backend, LrnOptions } from '../tensor/backend.ts';
import type { Padding } from '../tensor/geometry.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { LeafLayer, type ParamSpec } from './layer.ts';

/** Cross-channel local response normalisation (Torch7 SpatialCrossMapLRN). */
export class LRN extends LeafLayer {
  readonly op = 'lrn';
  constructor(name: string, readonly options: LrnOptions) {
    super(name);
  }
  protected run(backend: Backend, x: Tensor): Promise<Tensor> {
    return backend.lrn(x, this.options);
  }
  outputShape(input: readonly number[]): number[] {
    return [...input];
  }
  protected override detail(): string {
    return `size ${this.options.size}`;
  }
}

/** Inference batch norm: parameters mean, variance (not std), weight (gamma), bias (beta). */
export class BatchNorm extends LeafLayer {
  readonly op = 'batchNorm';
  constructor(name: string, readonly channels: number, readonly eps = 1e-5) {
    super(name);
  }
  override get paramSpecs(): ParamSpec[] {
    return ['weight', 'bias', 'mean', 'variance'].map((name) => ({ name, shape: [this.channels] }));
  }
  protected run(backend: Backend, x: Tensor): Promise<Tensor> {
    return backend.batchNorm(x, {
      gamma: this.param('weight'), beta: this.param('bias'), mean: this.param('mean'), variance: this.param('variance'), eps: this.eps,
    });
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
  outputShape(input: readonly number[]): number[] {
    const [t, b, l, r] = this.padding;
    return [input[0], input[1] + t + b, input[2] + l + r];
  }
  protected override detail(): string {
    return this.padding.join(',');
  }
}
