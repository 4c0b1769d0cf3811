import type { Backend } from '../tensor/backend.ts';
import type { FusedActivation } from '../tensor/geometry.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { LeafLayer, type ParamSpec } from './layer.ts';

export class ReLU extends LeafLayer {
  readonly op = 'relu';
  asFused(): FusedActivation {
    return { kind: 'relu' };
  }
  protected run(backend: Backend, x: Tensor): Promise<Tensor> {
    return backend.relu(x);
  }
  outputShape(input: readonly number[]): number[] {
    return [...input];
  }
}

/** PReLU with one slope per channel, parameter 'alpha' [channels]. */
export class PReLU extends LeafLayer {
  readonly op = 'prelu';
  constructor(name: string, readonly channels: number) {
    super(name);
  }
  override get paramSpecs(): ParamSpec[] {
    return [{ name: 'alpha', shape: [this.channels] }];
  }
  asFused(): FusedActivation {
    return { kind: 'prelu', alpha: this.param('alpha') };
  }
  protected run(backend: Backend, x: Tensor): Promise<Tensor> {
    return backend.prelu(x, this.param('alpha'));
  }
  outputShape(input: readonly number[]): number[] {
    return [...input];
  }
}

/** Softmax over channels. */
export class Softmax extends LeafLayer {
  readonly op = 'softmax';
  protected run(backend: Backend, x: Tensor): Promise<Tensor> {
    return backend.softmax(x);
  }
  outputShape(input: readonly number[]): number[] {
    return [...input];
  }
}
