import type { Backend } from '../tensor/backend.ts';
import { padding4, pair, pooledSize, type Pool2dOptions } from '../tensor/geometry.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { LeafLayer, type LeafGrads, type LeafNeeds } from './layer.ts';

type PoolOp = 'maxPool2d' | 'avgPool2d' | 'l2Pool2d';

abstract class Pool2d extends LeafLayer {
  abstract override readonly op: PoolOp;
  constructor(name: string, readonly options: Pool2dOptions) {
    super(name);
  }
  protected run(backend: Backend, x: Tensor): Promise<Tensor> {
    return backend[this.op](x, this.options);
  }
  protected override async backward(backend: Backend, x: Tensor, y: Tensor, dy: Tensor, needs: LeafNeeds): Promise<LeafGrads> {
    return { dx: needs.dx ? await this.inputGradient(backend, x, y, dy) : undefined };
  }
  protected abstract inputGradient(backend: Backend, x: Tensor, y: Tensor, dy: Tensor): Promise<Tensor>;
  outputShape(input: readonly number[]): number[] {
    const [kH, kW] = pair(this.options.kernel, 1);
    const [sH, sW] = pair(this.options.stride ?? this.options.kernel, 1);
    const [t, b, l, r] = padding4(this.options.padding);
    const ceil = this.options.ceilMode ?? false;
    return [input[0], pooledSize(input[1], kH, sH, t, b, ceil), pooledSize(input[2], kW, sW, l, r, ceil)];
  }
  protected override detail(): string {
    const [kH, kW] = pair(this.options.kernel, 1);
    const [sH] = pair(this.options.stride ?? this.options.kernel, 1);
    const [t] = padding4(this.options.padding);
    return `${kH}x${kW}/${sH}${t ? ` pad ${t}` : ''}${this.options.ceilMode ? ' ceil' : ''}`;
  }
}

export class MaxPool2d extends Pool2d {
  readonly op = 'maxPool2d';
  protected inputGradient(backend: Backend, x: Tensor, _y: Tensor, dy: Tensor): Promise<Tensor> {
    return backend.maxPool2dBackward(x, dy, this.options);
  }
}
export class AvgPool2d extends Pool2d {
  readonly op = 'avgPool2d';
  protected inputGradient(backend: Backend, x: Tensor, _y: Tensor, dy: Tensor): Promise<Tensor> {
    return backend.avgPool2dBackward(dy, x.shape, this.options);
  }
}
/** LP pooling with p = 2 (FaceNet's "L2 pooling"): sqrt of the sum of squares in each window. */
export class L2Pool2d extends Pool2d {
  readonly op = 'l2Pool2d';
  protected inputGradient(backend: Backend, x: Tensor, y: Tensor, dy: Tensor): Promise<Tensor> {
    return backend.l2Pool2dBackward(x, y, dy, this.options);
  }
}
