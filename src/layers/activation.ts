import type { Backend } from '../tensor/backend.ts';
import type { FusedActivation } from '../tensor/geometry.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { LeafLayer, type LeafGrads, type LeafNeeds, type ParamSpec } from './layer.ts';

export class ReLU extends LeafLayer {
  readonly op = 'relu';
  asFused(): FusedActivation {
    return { kind: 'relu' };
  }
  protected run(backend: Backend, x: Tensor): Promise<Tensor> {
    return backend.relu(x);
  }
  protected override async backward(backend: Backend, _x: Tensor, y: Tensor, dy: Tensor, needs: LeafNeeds): Promise<LeafGrads> {
    return { dx: needs.dx ? await backend.reluBackward(y, dy) : undefined };
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
  protected override async backward(backend: Backend, x: Tensor, _y: Tensor, dy: Tensor): Promise<LeafGrads> {
    // One pass gives both; the tape drops whichever was not asked for.
    const { dx, dAlpha } = await backend.preluBackward(x, this.param('alpha'), dy);
    return { dx, params: { alpha: dAlpha } };
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
  protected override async backward(backend: Backend, _x: Tensor, y: Tensor, dy: Tensor, needs: LeafNeeds): Promise<LeafGrads> {
    return { dx: needs.dx ? await backend.softmaxBackward(y, dy) : undefined };
  }
  outputShape(input: readonly number[]): number[] {
    return [...input];
  }
}
