import type { Backend } from '../tensor/backend.ts';
import { ShapeError } from '../errors.ts';
import { padding4, pair, pooledSize, type Conv2dOptions, type FusedActivation, type Padding, type Pool2dOptions } from '../tensor/geometry.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { LeafLayer, type LeafGrads, type LeafNeeds, type ParamSpec } from './layer.ts';

export interface ConvSpec {
  in: number;
  out: number;
  kernel: number | readonly [number, number];
  stride?: number;
  padding?: number | Padding;
  groups?: number;
  bias?: boolean;
}

/** 2-D convolution; weight [out, in/groups, kH, kW], bias [out]. */
export class Conv2d extends LeafLayer {
  readonly op = 'conv2d';
  readonly kernel: [number, number];
  readonly padding: [number, number, number, number];
  constructor(name: string, readonly spec: ConvSpec) {
    super(name);
    this.kernel = pair(spec.kernel, 1);
    this.padding = padding4(spec.padding);
  }

  override get paramSpecs(): ParamSpec[] {
    const g = this.spec.groups ?? 1;
    const specs: ParamSpec[] = [{ name: 'weight', shape: [this.spec.out, this.spec.in / g, ...this.kernel] }];
    if (this.spec.bias !== false) specs.push({ name: 'bias', shape: [this.spec.out] });
    return specs;
  }

  private options(): Conv2dOptions {
    return { stride: this.spec.stride ?? 1, padding: this.padding, groups: this.spec.groups ?? 1 };
  }

  protected run(backend: Backend, x: Tensor, activation?: FusedActivation, maxPool?: Pool2dOptions): Promise<Tensor> {
    return backend.conv2d(x, this.param('weight'), this.optionalParam('bias'), { ...this.options(), activation, ...(maxPool ? { maxPool } : {}) });
  }

  protected override async backward(backend: Backend, x: Tensor, _y: Tensor, dy: Tensor, needs: LeafNeeds): Promise<LeafGrads> {
    const weight = this.param('weight');
    const params: Record<string, Tensor> = {};
    if (needs.params.has('weight')) params.weight = await backend.conv2dBackwardWeight(x, dy, weight.shape, this.options());
    if (needs.params.has('bias')) params.bias = await backend.sumChannels(dy);
    const dx = needs.dx ? await backend.conv2dBackwardInput(dy, weight, x.shape, this.options()) : undefined;
    return { dx, params };
  }

  /** The convolution with the following activation, and the max pooling after it, applied in the same pass (no trace in between). */
  runFused(backend: Backend, x: Tensor, activation: FusedActivation | undefined, maxPool?: Pool2dOptions): Promise<Tensor> {
    return this.run(backend, x, activation, maxPool);
  }

  outputShape(input: readonly number[]): number[] {
    if (input[0] !== this.spec.in) throw new ShapeError(this.name, `expects ${this.spec.in} input channels`, [input]);
    const s = this.spec.stride ?? 1;
    const [t, b, l, r] = this.padding;
    return [this.spec.out, pooledSize(input[1], this.kernel[0], s, t, b, false), pooledSize(input[2], this.kernel[1], s, l, r, false)];
  }

  protected override detail(): string {
    const [t, b, l, r] = this.padding;
    const pad = t === b && l === r && t === l ? `${t}` : `${t},${b},${l},${r}`;
    const g = this.spec.groups ?? 1;
    return `${this.kernel[0]}x${this.kernel[1]}/${this.spec.stride ?? 1} pad ${pad}${g > 1 ? ` groups ${g}` : ''}`;
  }

  protected override macs(_input: readonly number[], output: readonly number[]): number {
    const g = this.spec.groups ?? 1;
    return output[0] * output[1] * output[2] * (this.spec.in / g) * this.kernel[0] * this.kernel[1];
  }
}

/** Fully connected layer over the flattened input; weight [out, in], bias [out]. */
export class Dense extends LeafLayer {
  readonly op = 'dense';
  constructor(name: string, readonly inFeatures: number, readonly outFeatures: number) {
    super(name);
  }
  override get paramSpecs(): ParamSpec[] {
    return [{ name: 'weight', shape: [this.outFeatures, this.inFeatures] }, { name: 'bias', shape: [this.outFeatures] }];
  }
  protected run(backend: Backend, x: Tensor): Promise<Tensor> {
    return backend.dense(x, this.param('weight'), this.param('bias'));
  }
  protected override async backward(backend: Backend, x: Tensor, _y: Tensor, dy: Tensor, needs: LeafNeeds): Promise<LeafGrads> {
    const params: Record<string, Tensor> = {};
    if (needs.params.has('weight')) params.weight = await backend.denseBackwardWeight(x, dy);
    if (needs.params.has('bias')) params.bias = await backend.sumChannels(dy);
    // The op flattens [N, C, H, W] inputs; dx goes back in the input's own shape.
    const dx = needs.dx ? (await backend.denseBackwardInput(dy, this.param('weight'))).reshape(x.shape) : undefined;
    return { dx, params };
  }
  outputShape(input: readonly number[]): number[] {
    const f = input.reduce((a, b) => a * b, 1);
    if (f !== this.inFeatures) throw new ShapeError(this.name, `expects ${this.inFeatures} input features`, [input]);
    return [this.outFeatures];
  }
  protected override detail(): string {
    return `${this.inFeatures}->${this.outFeatures}`;
  }
  protected override macs(): number {
    return this.inFeatures * this.outFeatures;
  }
}
